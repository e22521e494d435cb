--[[ The strict fake SDK's rules, each shown both ways: broken, the fake raises (and records it);
kept, it does not. A fake without a rule fails its test here.
usage: lua5.1 test_fake_sdk.lua <plugin dir> [echo url]   — prints "N passed, N failed"
The echo url (optional) answers a POST with the request's headers, as JSON. ]]

local plugin_dir, echo_url = arg[1], arg[2]
local here = arg[0]:match('^(.*)/[^/]+$') or '.'
package.path = here .. '/?.lua;' .. package.path

local cjson = require 'cjson'
local luatest = require 'luatest'
local FakeSdk = require 'fake_sdk'
FakeSdk.install(plugin_dir)
FakeSdk.sleep_scale = 0
local record = FakeSdk.record

local LrTasks = import 'LrTasks'
local LrHttp = import 'LrHttp'
local LrDate = import 'LrDate'
local LrDialogs = import 'LrDialogs'
local LrFileUtils = import 'LrFileUtils'
local LrProgressScope = import 'LrProgressScope'
local LrView = import 'LrView'
local catalog = import('LrApplication').activeCatalog()

local test = luatest.test

-- What running `fn` broke (in a task when `in_task`): the violations recorded, the errors raised.
local function broken(fn, in_task)
  record.violations, record.task_errors = {}, {}
  local err
  if in_task then
    LrTasks.startAsyncTask(fn, 'test')
    FakeSdk.run_tasks(30)
    err = record.task_errors[1]
  else
    local ok, e = pcall(fn)
    err = not ok and tostring(e) or nil
  end
  return table.concat(record.violations, '\n'), err
end

local function raises(phrase, fn, in_task)
  local violations, err = broken(fn, in_task)
  assert(violations:find(phrase, 1, true), 'no violation "' .. phrase .. '" (got: ' .. violations .. ')')
  assert(err and err:find('[Lightroom rule]', 1, true), 'the violation was not raised: ' .. tostring(err))
end

local function keeps(fn, in_task)
  local violations, err = broken(fn, in_task)
  assert(violations == '' and err == nil, 'unexpected: ' .. violations .. ' ' .. tostring(err))
end

local photo = FakeSdk.photo(1, '/photos/a.jpg')

test('names: only what the API reference lists', function()
  raises('has no namespace "LrMagic"', function() import 'LrMagic' end)
  raises('LrHttp has no function "fetch"', function() return LrHttp.fetch end)
  raises('LrPhoto has no member "path"', function() return photo.path end)
  raises("loads only files at the plug-in's root", function() require 'logic.AihdJson' end)
  raises("loads only files at the plug-in's root", function() require 'logic/AihdJson' end)
  keeps(function() assert(LrHttp.get and photo.localIdentifier == 1 and require 'AihdLogic') end)
end)

test('tasks: startAsyncTask runs later, not inline', function()
  local ran = false
  LrTasks.startAsyncTask(function() ran = true end)
  assert(not ran, 'ran inline')
  FakeSdk.run_tasks(5)
  assert(ran)
end)

test('tasks: what waits runs only in a task', function()
  raises('must be called from within a task', function() LrTasks.sleep(0) end)
  raises('must be called from within a task', function() LrHttp.get('http://127.0.0.1:9/') end)
  keeps(function() LrTasks.sleep(0) end, true)
end)

test('tasks: Lua 5.1 itself refuses a yield across pcall, as Lightroom does', function()
  local ok, err = coroutine.wrap(function() return FakeSdk.real_pcall(coroutine.yield) end)()
  assert(ok == false and err:find('yield across'), tostring(err))
end)

test('tasks: no yield across a plain pcall; LrTasks.pcall allows it', function()
  raises('Yielding is not allowed within a C or metamethod call', function()
    local ok, err = pcall(function() LrTasks.sleep(0) end)
    assert(not ok)
    error(err, 0)
  end, true)
  keeps(function()
    local ok, err = LrTasks.pcall(function() LrTasks.sleep(0) return 'slept' end)
    assert(ok and err == 'slept')
  end, true)
end)

test('catalog: writes only in a task, never nested, never yielding', function()
  raises('must be called from within a task', function() catalog:withWriteAccessDo('x', function() end) end)
  raises('nested inside another write', function()
    catalog:withWriteAccessDo('outer', function()
      catalog:withPrivateWriteAccessDo(function() end)
    end, { timeout = 1 })
  end, true)
  raises('Yielding is not allowed', function()
    catalog:withWriteAccessDo('x', function() LrTasks.sleep(0) end, { timeout = 1 })
  end, true)
  raises('inside a catalog write', function() photo:setPropertyForPlugin(_PLUGIN, 'status', 'x') end)
  keeps(function()
    catalog:withWriteAccessDo('x', function() photo:setPropertyForPlugin(_PLUGIN, 'status', 'x') end, { timeout = 1 })
  end, true)
  assert(photo._props.status == 'x')
end)

test('catalog: a keyword created once per write; a failed write changes nothing', function()
  raises('twice in one write', function()
    catalog:withWriteAccessDo('k', function()
      photo:setPropertyForPlugin(_PLUGIN, 'orderId', 'lost')
      local top = catalog:createKeyword('AI HomeDesign', {}, false, nil, true)
      photo:addKeyword(catalog:createKeyword('AI HomeDesign', {}, false, nil, true) or top)
    end, { timeout = 1 })
  end, true)
  assert(photo._props.orderId == nil and #photo._keywords == 0, 'the failed write changed the photo')
  keeps(function()
    catalog:withWriteAccessDo('k', function()
      local top = catalog:createKeyword('AI HomeDesign', {}, false, nil, true)
      photo:addKeyword(catalog:createKeyword('Day to dusk', {}, false, top, true))
    end, { timeout = 1 })
  end, true)
  assert(photo._keywords[1] == 'AI HomeDesign > Day to dusk')
end)

test('plug-in fields: read and written with _PLUGIN, and batchGetPropertyForPlugin takes it too', function()
  raises('must be _PLUGIN', function() catalog:batchGetPropertyForPlugin({ photo }, { 'status' }) end)
  raises('must be _PLUGIN', function() return photo:getPropertyForPlugin('status') end)
  keeps(function()
    local got = catalog:batchGetPropertyForPlugin({ photo }, _PLUGIN, { 'status' })
    assert(got[photo] and got[photo].status == photo._props.status)
  end)
end)

test('fields: declared, of their type, searchable strings under 512 bytes of UTF-8', function()
  local function set(field, value)
    return function()
      catalog:withWriteAccessDo('f', function() photo:setPropertyForPlugin(_PLUGIN, field, value) end, { timeout = 1 })
    end
  end
  raises('no field "colour" is declared', set('colour', 'red'), true)
  raises('takes a string, not a number', set('orderId', 12), true)
  raises('Searchable strings must be less than 512 bytes', set('status', string.rep('x', 512)), true)
  raises('not valid UTF-8', set('status', string.rep('\195\169', 10):sub(1, 19)), true)
  keeps(set('status', string.rep('\195\169', 255)), true)  -- 510 bytes
end)

test('catalog: addPhoto only in a write; it stacks, and throws for a missing or known file', function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute('mkdir -p "' .. dir .. '"')
  local function file(name)
    local fh = assert(FakeSdk.real_open(dir .. '/' .. name, 'wb'))
    fh:write('bytes')
    fh:close()
    return dir .. '/' .. name
  end
  local result, other, text = file('result.jpg'), file('other.jpg'), file('notes.txt')
  local source = FakeSdk.photo(70, dir .. '/source.jpg')
  local function add(path, position)
    return function()
      catalog:withWriteAccessDo('import', function() catalog:addPhoto(path, source, position) end, { timeout = 1 })
    end
  end
  raises('must be called inside a catalog write', function() catalog:addPhoto(result, source, 'above') end)
  raises("'above' or 'below'", add(result, 'on top'), true)
  raises('needs withWriteAccessDo', function()
    catalog:withPrivateWriteAccessDo(function() catalog:addPhoto(result) end, { timeout = 1 })
  end, true)
  local _, err = broken(add(dir .. '/missing.jpg', 'above'), true)
  assert(err and err:find('does not exist'), tostring(err))
  _, err = broken(add(text, 'above'), true)
  assert(err and err:find('not supported'), tostring(err))
  assert(catalog:findPhotoByPath(result) == nil)
  keeps(add(result, 'above'), true)
  keeps(add(other, 'below'), true)
  local added = catalog:findPhotoByPath(result)
  assert(added and added ~= source and added.localIdentifier > 70)
  assert(source._stack[1] == added and source._stack[2] == source and source._stack[3].localIdentifier ==
         catalog:findPhotoByPath(other).localIdentifier, 'the stack, top first')
  _, err = broken(add(result, 'above'), true)
  assert(err and err:find('already in the catalog'), tostring(err))
  assert(#source._stack == 3, 'a refused import changes nothing')
  os.execute('rm -rf "' .. dir .. '"')
end)

test('dialogs: an export dialog\'s properties are observable', function()
  local props = FakeSdk.property_table { aihd_service = 'auto' }
  local seen = {}
  props:addObserver('aihd_service', function(p, key, value) seen[#seen + 1] = { p == props, key, value } end)
  props.aihd_service = 'auto'  -- unchanged: no call
  props.aihd_service = 'service-day-to-dusk'
  assert(#seen == 1 and seen[1][1] and seen[1][2] == 'aihd_service' and seen[1][3] == 'service-day-to-dusk')
  assert(props.anything == nil)
  raises('takes a key and a function', function() props:addObserver('x', 'not a function') end)
end)

test('export: the configureProgress scope and the renditions end with the loop', function()
  local function export()
    local context = FakeSdk.export_context({}, { { photo = photo, source = '/nowhere' } }, '/tmp')
    local scope = context:configureProgress { title = 't' }
    local last
    for _, rendition in context:renditions { stopIfCanceled = true } do last = rendition end
    return scope, last
  end
  raises('belongs to the renditions loop, which has ended', function()
    local scope = export()
    scope:setCaption('waiting')
  end, true)
  raises('uploadFailed after the renditions loop', function()
    local _, rendition = export()
    rendition:uploadFailed('late')
  end, true)
  raises('takes no argument "titel"', function() FakeSdk.export_context({}, {}, '/tmp'):configureProgress { titel = 'x' } end)
  keeps(function()
    local scope = LrProgressScope { title = 'wait' }
    scope:setCaption('waiting')
    scope:done()
  end, true)
end)

test('sources: collections and folders with the reference\'s members only, or special values', function()
  FakeSdk.set_sources { { collection = '12 Oak Avenue' }, { folder = '/photos/Kitchen' } }
  keeps(function()
    local sources = catalog:getActiveSources()
    assert(sources[1]:type() == 'LrCollection' and sources[1]:getName() == '12 Oak Avenue')
    assert(sources[2]:type() == 'LrFolder' and sources[2]:getName() == 'Kitchen')
  end)
  raises('LrCollection has no member "getPath"', function() return catalog:getActiveSources()[1]:getPath() end)
  raises('LrFolder has no member "getPhotoCount"', function() return catalog:getActiveSources()[2]:getPhotoCount() end)
  FakeSdk.set_sources(nil)
  keeps(function() assert(catalog:getActiveSources()[1] == catalog.kAllPhotos) end)
  FakeSdk.set_sources { 'kQuickCollectionIdentifier' }
  keeps(function() assert(type(catalog:getActiveSources()[1]) == 'string') end)
  FakeSdk.set_sources(nil)
end)

test('export: the session lists its photos with photosToExport, by the reference\'s names only', function()
  local context = FakeSdk.export_context({}, { { photo = photo, source = '/nowhere' } }, '/tmp')
  keeps(function() assert(context.exportSession:photosToExport()[1] == photo) end)
  raises('LrExportSession has no member "photos"', function() return context.exportSession.photos end)
end)

test('export: a progress scope of one\'s own is done by the end', function()
  local before = #FakeSdk.open_scopes()
  LrProgressScope { title = 'forgotten' }
  assert(#FakeSdk.open_scopes() == before + 1)
  FakeSdk.call_with_context('x', function(context) LrProgressScope { title = 'attached', functionContext = context } end)
  assert(#FakeSdk.open_scopes() == before + 1, 'a scope attached to a function context ends with it')
end)

test('export: documented section and format names only', function()
  raises('no export dialog section is named "video"', function()
    FakeSdk.check_provider { hideSections = { 'exportLocation', 'video' } }
  end)
  raises('not both', function() FakeSdk.check_provider { hideSections = {}, showSections = {} } end)
  raises('no file format is named "PNG"', function() FakeSdk.check_provider { allowFileFormats = { 'PNG' } } end)
  keeps(function() FakeSdk.check_provider { hideSections = { 'exportLocation', 'fileNaming' }, allowFileFormats = { 'JPEG' } } end)
end)

test('LrDate counts from 2001, not 1970', function()
  assert(math.abs(LrDate.currentTime() - (os.time() - 978307200)) < 5)
  raises('not 1970', function() LrDate.timeToUserFormat(os.time(), '%Y') end)
  keeps(function() assert(LrDate.timeToUserFormat(LrDate.currentTime(), '%Y') == os.date('%Y')) end)
end)

test('LrFileUtils.exists answers directory for a folder', function()
  local file = os.tmpname()
  assert(LrFileUtils.exists(here) == 'directory')
  assert(LrFileUtils.exists(file) == 'file')
  assert(LrFileUtils.exists(file .. '-none') == false)
  os.remove(file)
end)

test('LrView: only the SDK\'s controls and their properties', function()
  local f = LrView.osFactory()
  raises('LrView has no control "text_area"', function() return f:text_area {} end)
  raises('static_text has no property "text"', function() return f:static_text { text = 'x' } end)
  raises('edit_field has no property "multiline"', function() return f:edit_field { multiline = true } end)
  raises('child 1 is not a view', function() return f:row { 'plain text' } end)
  keeps(function()
    return f:row { f:static_text { title = 'x', width_in_chars = 10 }, f:scrolled_view { width = 100, f:column {} } }
  end)
end)

test('LrHttp: headers as a list of { field, value }', function()
  raises('headers are a list of', function() LrHttp.get('http://127.0.0.1:9/', { Accept = 'x' }) end, true)
end)

test('LrHttp.post: text/plain without a Content-Type, none with skip, as asked otherwise', function()
  if not echo_url then return end
  local function sent(headers)
    local body
    keeps(function() body = LrHttp.post(echo_url, '{}', headers) end, true)
    return cjson.decode(body)['content-type']
  end
  assert(sent({}) == 'text/plain', tostring(sent({})))
  assert(sent({ { field = 'Content-Type', value = 'skip' } }) == nil)
  assert(sent({ { field = 'Content-Type', value = 'application/json' } }) == 'application/json')
end)

test('dialogs: a message does not scroll; a modal dialog takes documented arguments', function()
  raises('does not scroll', function() LrDialogs.message('t', string.rep('line\n', 30)) end)
  local f = LrView.osFactory()
  raises('takes no argument "buttons"', function()
    LrDialogs.presentModalDialog { title = 't', contents = f:column {}, buttons = {} }
  end, true)
  keeps(function() LrDialogs.message('t', 'a few\nlines') end)
end)

test('yields: a catalog call inside a write may yield: never inside a plain pcall', function()
  raises('addKeyword inside a plain pcall', function()
    catalog:withWriteAccessDo('y', function()
      local keyword = catalog:createKeyword('Yield', {}, false, nil, true)
      local ok, err = pcall(photo.addKeyword, photo, keyword)
      if not ok then error(err, 0) end
    end, { timeout = 1 })
  end, true)
  raises('setPropertyForPlugin inside a plain pcall', function()
    catalog:withWriteAccessDo('y', function()
      assert(pcall(photo.setPropertyForPlugin, photo, _PLUGIN, 'status', 'x'))
    end, { timeout = 1 })
  end, true)
  keeps(function()
    catalog:withWriteAccessDo('y', function()
      assert(LrTasks.pcall(photo.setPropertyForPlugin, photo, _PLUGIN, 'status', 'y'))
    end, { timeout = 1 })
  end, true)
  assert(photo._props.status == 'y')
end)

test('stacks: addPhoto stacks only with a photo of the same folder', function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute('mkdir -p "' .. dir .. '/a" "' .. dir .. '/b"')
  for _, name in ipairs({ 'a/r1.jpg', 'b/r2.jpg' }) do
    local fh = assert(FakeSdk.real_open(dir .. '/' .. name, 'wb'))
    fh:write('bytes')
    fh:close()
  end
  local source = FakeSdk.photo(80, dir .. '/a/source.jpg')
  raises('photos in different folders cannot be stacked', function()
    catalog:withWriteAccessDo('s', function() catalog:addPhoto(dir .. '/b/r2.jpg', source, 'above') end, { timeout = 1 })
  end, true)
  keeps(function()
    catalog:withWriteAccessDo('s', function() catalog:addPhoto(dir .. '/a/r1.jpg', source, 'above') end, { timeout = 1 })
  end, true)
  assert(#source._stack == 2)
  os.execute('rm -rf "' .. dir .. '"')
end)

test('files: Lua\'s own file functions refuse a non-ASCII path; LrFileUtils reads it', function()
  local dir = os.tmpname()
  os.remove(dir)
  local path = dir .. '-Jos\195\169.lua'
  local fh = assert(FakeSdk.real_open(path, 'wb'))
  fh:write('return 42')
  fh:close()
  raises('take the ANSI code page', function() return loadfile(path) end)
  raises('take the ANSI code page', function() return dofile(path) end)
  raises('take the ANSI code page', function() return io.open(path, 'rb') end)
  keeps(function() assert(loadstring(LrFileUtils.readFile(path))() == 42 and loadfile(here .. '/luatest.lua')) end)
  os.remove(path)
end)

test('undo: the last withWriteAccessDo write is taken back; a private write makes no step', function()
  local p = FakeSdk.photo(90, '/photos/undo.jpg')
  keeps(function()
    catalog:withWriteAccessDo('first', function() p:setPropertyForPlugin(_PLUGIN, 'orderId', 'o-1') end, { timeout = 1 })
    catalog:withWriteAccessDo('second', function()
      p:setPropertyForPlugin(_PLUGIN, 'orderId', 'o-2')
      p:addKeyword(catalog:createKeyword('Undone', {}, false, nil, true))
    end, { timeout = 1 })
    catalog:withPrivateWriteAccessDo(function() p:setPropertyForPlugin(_PLUGIN, 'status', 'kept') end, { timeout = 1 })
  end, true)
  assert(FakeSdk.undo() == 'second')
  assert(p._props.orderId == 'o-1' and #p._keywords == 0 and p._props.status == 'kept')
end)

test('catalog: its own plug-in properties stay with it when getPath() changes', function()
  FakeSdk.catalog.path = '/Pictures/Studio.lrcat'
  raises('must be called inside a catalog write', function() catalog:setPropertyForPlugin(_PLUGIN, 'k', 'v') end)
  keeps(function()
    catalog:withPrivateWriteAccessDo(function() catalog:setPropertyForPlugin(_PLUGIN, 'k', 'v') end, { timeout = 1 })
  end, true)
  FakeSdk.catalog.path = '/Pictures/Studio-v13.lrcat'  -- Lightroom's upgrade: a new file
  assert(catalog:getPath() == '/Pictures/Studio-v13.lrcat' and catalog:getPropertyForPlugin(_PLUGIN, 'k') == 'v')
  local p = FakeSdk.photo(91, '/photos/uuid.jpg')
  assert(catalog:findPhotoByUuid(p:getRawMetadata('uuid')) == p and #p:getRawMetadata('uuid') == 36)
end)

test('start: LrInitPlugin runs at Lightroom\'s start only with LrForceInitPlugin', function()
  local ran = {}
  local function run(file) ran[#ran + 1] = file end
  assert(not FakeSdk.start({ LrInitPlugin = 'Init.lua' }, run) and #ran == 0)
  assert(FakeSdk.start({ LrInitPlugin = 'Init.lua', LrForceInitPlugin = true }, run) and ran[1] == 'Init.lua')
end)

test('reload: LrShutdownPlugin runs, the modules load afresh, the old tasks go on', function()
  local old_task_ran, ran = false, {}
  LrTasks.startAsyncTask(function() LrTasks.sleep(0) old_task_ran = true end)
  local before = require 'AihdLogic'
  local function run(file)
    ran[#ran + 1] = file
    return { LrShutdownFunction = function(done) ran[#ran + 1] = 'LrShutdownFunction' done() end }
  end
  FakeSdk.reload({ LrShutdownPlugin = 'Stop.lua', LrInitPlugin = 'Init.lua' }, run, plugin_dir)
  assert(ran[1] == 'Stop.lua' and ran[2] == 'LrShutdownFunction' and ran[3] == 'Init.lua')
  assert(require 'AihdLogic' ~= before, 'a reload loads the modules afresh')
  FakeSdk.run_tasks(5)
  assert(old_task_ran, 'the old plug-in\'s task went on')
end)

test('presets: a preset sets its keys in a shuffled order', function()
  local orders = {}
  for seed = 1, 20 do
    local props, seen = FakeSdk.property_table {}, {}
    for _, k in ipairs({ 'aihd_service', 'aihd_space', 'aihd_widgets' }) do
      props:addObserver(k, function() seen[#seen + 1] = k end)
    end
    FakeSdk.apply_preset(props, { aihd_service = 's', aihd_space = 'Bedroom', aihd_widgets = '{}' }, seed)
    orders[table.concat(seen, ' ')] = true
  end
  assert(orders['aihd_service aihd_space aihd_widgets'] ~= nil or orders['aihd_space aihd_service aihd_widgets'] ~= nil)
  local count = 0
  for _ in pairs(orders) do count = count + 1 end
  assert(count >= 3, 'the keys came in ' .. count .. ' orders only')
end)

test('photos: getAllPhotos on a catalog big enough to freeze Lightroom', function()
  FakeSdk.catalog.more_photos = 100000
  raises('freezes Lightroom', function() catalog:getAllPhotos() end)
  keeps(function() catalog:findPhotosWithProperty(_PLUGIN.id, 'status') end)
  FakeSdk.catalog.more_photos = nil
  keeps(function() catalog:getAllPhotos() end)
end)

test('LrHttp: a refused connection throws when the scenario says so', function()
  FakeSdk.http_throws = true
  local _, err = broken(function() LrHttp.get('http://127.0.0.1:9/') end, true)
  assert(err and err:find('LrHttp.get'), tostring(err))
  FakeSdk.http_throws = nil
  keeps(function() assert(LrHttp.get('http://127.0.0.1:9/') == nil) end, true)
end)

test('logs: the log file lands where the Lightroom version writes it', function()
  FakeSdk.version = { major = 12, minor = 4 }
  assert(FakeSdk.log_path('X') == FakeSdk.home .. '/Documents/LrClassicLogs/X.log')
  FakeSdk.version = { major = 13, minor = 0 }
  assert(FakeSdk.log_path('X') == FakeSdk.home .. '/Library/Logs/Adobe/Lightroom/LrClassicLogs/X.log')
  assert(import('LrApplication').versionTable().major == 13)
end)

test('catalog: a Lightroom that refuses writes while it exports, where a scenario says so', function()
  FakeSdk.refuse_writes_in_export, FakeSdk.exporting = true, true
  local result
  keeps(function() result = catalog:withWriteAccessDo('w', function() end, { timeout = 1 }) end, true)
  assert(result == 'aborted')
  FakeSdk.exporting = false
  keeps(function() result = catalog:withWriteAccessDo('w', function() end, { timeout = 1 }) end, true)
  assert(result == 'executed')
  FakeSdk.refuse_writes_in_export = nil
end)

luatest.finish()
