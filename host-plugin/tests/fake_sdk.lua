--[[ A strict fake of the Lightroom Classic SDK, to run the plugin's real files under plain lua5.1.

`import 'LrX'` answers fakes; HTTP is real (luasocket). Everything the plugin does to Lightroom is
recorded in `FakeSdk.record`. The fake is stricter than convenient on purpose: it enforces the
rules Lightroom enforces (or is reported to), and breaking one is a *violation*: it raises, like
Lightroom, and it is also recorded, so that a plugin that swallows the error still fails its test.

The rules (each has a test in test_fake_sdk.lua):
  names      only namespaces, functions, methods and fields that the API reference lists
             (sdk_api.lua, generated from Adobe's reference); `require` loads only files at the
             plug-in's root, as Lightroom's does
  tasks      LrTasks.startAsyncTask runs its function later, not inline; what may wait (HTTP,
             sleep, catalog writes, rendering) runs only inside a task, and never across a plain
             pcall or inside a catalog write ("Yielding is not allowed within a C or metamethod
             call"); LrTasks.pcall may
  catalog    writes only inside a task, never nested; each keyword created once per write; a
             failed write changes nothing; only fields declared in MetadataDefinition, with their
             type; searchable strings under 512 bytes and valid UTF-8; addPhoto only inside a
             write (withWriteAccessDo), stacking 'above' or 'below' an LrPhoto, and it throws, as
             the reference says, for a file that is not there or not an image, and (as Lightroom
             does) for a file already in the catalog
  dialogs    an export dialog's property table is observable (addObserver), as Lightroom's is
  export     the configureProgress scope and the renditions end with the renditions loop; every
             LrProgressScope of one's own is done by the end; hideSections and allowFileFormats
             use documented names only
  LrDate     counts seconds from 2001-01-01, not 1970
  files      LrFileUtils.exists answers 'file', 'directory' or false
  LrView     only the SDK's controls, each with its documented properties
  LrHttp     headers as a list of { field, value }; a POST without Content-Type goes as
             text/plain, and 'skip' sends none (the API reference's words)
  dialogs    LrDialogs.message does not scroll: no more than MESSAGE_LINES lines
  yields     catalog calls inside a write (addPhoto, setPropertyForPlugin, addKeyword,
             createKeyword) may yield: never inside a plain pcall (LrTasks.pcall allows it)
  stacks     addPhoto stacks only with a photo of the same folder (Adobe: photos in different
             folders cannot be stacked)
  files      a plug-in whose path has non-ASCII bytes cannot use Lua's own loadfile, dofile or
             io.open (Windows: they take the ANSI code page); LrFileUtils.readFile can
  undo       FakeSdk.undo() takes back the last withWriteAccessDo write, as Ctrl/Cmd-Z does;
             withPrivateWriteAccessDo makes no undo step
  catalog    getPath() is the file's path, which an upgrade or a move changes; the catalog's own
             plug-in properties (setPropertyForPlugin) stay with it
  reload     a plug-in reloaded, disabled or Lightroom quitting: LrShutdownPlugin and
             LrShutdownApp run, and the old plug-in's tasks go on until they end by themselves
  start      LrInitPlugin runs when Lightroom starts only with LrForceInitPlugin = true
  presets    a preset chosen in the export dialog sets its keys in a shuffled order
  photos     getAllPhotos costs time per photo on Lightroom's side: a catalog large enough to
             freeze Lightroom is a violation (FREEZE_SECONDS)
  LrHttp     throws, rather than returning an error, when the connection is refused (http_throws)
  logs       LrLogger's 'logfile' lands where the Lightroom version writes it (log_path)
  export     a scenario's Lightroom may refuse catalog writes while it exports
             (refuse_writes_in_export); LrTasks.execute runs its line in a shell
  sources    the catalog's active sources are LrCollection and LrFolder objects with only the
             reference's members, or special values (strings), as a scenario's `sources` says ]]

local http = require 'socket.http'
local ltn12 = require 'ltn12'
local socket = require 'socket'
local SDK = require 'sdk_api'

local real_pcall, real_xpcall, real_require = pcall, xpcall, require
local real_open, real_loadfile, real_dofile = io.open, loadfile, dofile

local FakeSdk = {
  record = { dialogs = {}, modals = {}, bezels = {}, captions = {}, portions = {}, failures = {},
             log = {}, write_attempts = 0, writes = 0, scopes = {}, violations = {}, task_errors = {},
             requests = {}, opened_urls = {}, all_photos_read = 0, executed = {} },
  prefs = {}, sleep_scale = 1, confirm_answer = 'ok', modal_answer = 'ok',
  home = os.getenv('HOME') or '/tmp',
}
local record = FakeSdk.record

FakeSdk.MESSAGE_LINES = 20
FakeSdk.SEARCHABLE_LIMIT = 512
local EPOCH_2001 = 978307200  -- seconds from 1970-01-01 to 2001-01-01, UTC

local function pack(...) return { n = select('#', ...), ... } end

-- A broken rule: recorded, then raised where the plugin called.
local function violation(message, level)
  record.violations[#record.violations + 1] = message
  error('[Lightroom rule] ' .. message, (level or 1) + 1)
end
FakeSdk.violation = violation

local function set_of(list)
  local set = {}
  for _, v in ipairs(list or {}) do set[v] = true end
  return set
end

-- Strict objects: a member the SDK lists but the fake lacks is the fake's gap; a member the SDK
-- does not list is the plugin's mistake.
local function strict(class, methods)
  local sdk = SDK.classes[class] or { methods = {}, fields = {} }
  local known = set_of(sdk.methods)
  for _, f in ipairs(sdk.fields) do known[f] = true end
  return {
    __index = function(_, key)
      local method = methods[key]
      if method ~= nil then return method end
      if type(key) == 'string' and key:sub(1, 1) == '_' then return nil end  -- the fake's own state
      if known[key] then error('the fake SDK lacks ' .. class .. '.' .. tostring(key) .. ': add it to fake_sdk.lua', 2) end
      violation(class .. ' has no member "' .. tostring(key) .. '"', 2)
    end,
  }
end

local function check_named_args(name, args)
  local allowed = set_of(SDK.named_args[name])
  for key in pairs(args or {}) do
    if not allowed[key] then violation(name .. ' takes no argument "' .. tostring(key) .. '"', 3) end
  end
end

-- Tasks ------------------------------------------------------------------------------------------
local queue = {}                                        -- tasks not finished, in start order
local task_of = setmetatable({}, { __mode = 'k' })      -- coroutine -> its task
local boundary = setmetatable({}, { __mode = 'k' })     -- coroutine -> plain pcalls / writes open

local function current_task()
  local co = coroutine.running()
  return co and task_of[co], co
end

local function inside_boundary(co, fn, ...)
  if co then boundary[co] = (boundary[co] or 0) + 1 end
  local results = pack(real_pcall(fn, ...))
  if co then boundary[co] = boundary[co] - 1 end
  return results
end

-- Plain pcall is a C call in Lightroom: a yield inside it fails.
function pcall(fn, ...)  -- luacheck: ignore 121
  local results = inside_boundary(coroutine.running(), fn, ...)
  return unpack(results, 1, results.n)
end

function xpcall(fn, handler)  -- luacheck: ignore 121
  local co = coroutine.running()
  if co then boundary[co] = (boundary[co] or 0) + 1 end
  local results = pack(real_xpcall(fn, handler))
  if co then boundary[co] = boundary[co] - 1 end
  return unpack(results, 1, results.n)
end

local state  -- the catalog's state (below): a write open there is no place to wait

-- A catalog call inside a write may yield in Lightroom: inside a plain pcall that fails.
local function may_yield(what)
  local co = coroutine.running()
  if co and (boundary[co] or 0) > 0 then
    violation('Yielding is not allowed within a C or metamethod call (' .. what
              .. ' inside a plain pcall; LrTasks.pcall allows it)', 3)
  end
end

-- Give way to other tasks until `wake` (seconds, socket clock); `what` names the caller.
local function wait(what, seconds)
  local task, co = current_task()
  if not task then violation(what .. ' must be called from within a task (LrTasks.startAsyncTask)', 3) end
  if (boundary[co] or 0) > 0 or state.tx then
    violation('Yielding is not allowed within a C or metamethod call (' .. what
              .. ' inside a plain pcall or a catalog write; LrTasks.pcall allows it)', 3)
  end
  task.wake = socket.gettime() + (seconds or 0) * FakeSdk.sleep_scale
  return coroutine.yield()
end

local function start_task(fn, name)
  local co = coroutine.create(fn)
  task_of[co] = { co = co, wake = 0, name = name or 'task' }
  queue[#queue + 1] = task_of[co]
end

-- Runs every task until none is left (or `deadline` seconds pass). With `quit`, the deadline
-- is Lightroom quitting: the tasks still running are dropped where they wait; with 'pause', they
-- stay, to run on at the next call.
function FakeSdk.run_tasks(deadline, quit)
  local stop = socket.gettime() + (deadline or 600)
  while #queue > 0 do
    if socket.gettime() > stop then
      if quit == 'pause' then return end
      if quit then
        for i = #queue, 1, -1 do queue[i] = nil end
        FakeSdk.quit = true
        return
      end
      error('the fake SDK gave up: tasks still running after the deadline')
    end
    local now, soonest = socket.gettime(), math.huge
    for _, task in ipairs({ unpack(queue) }) do
      if task.wake <= now then
        local ok, err = coroutine.resume(task.co)
        if not ok then
          record.task_errors[#record.task_errors + 1] = task.name .. ': ' .. tostring(err)
        end
        if coroutine.status(task.co) == 'dead' then
          for i, t in ipairs(queue) do if t == task then table.remove(queue, i) break end end
        end
      end
      soonest = math.min(soonest, task.wake)
    end
    -- Asleep until the next task wakes, or the deadline (Lightroom quits then, whoever sleeps).
    soonest = math.min(soonest, stop + 0.001)
    if #queue > 0 and soonest > socket.gettime() then socket.sleep(soonest - socket.gettime()) end
  end
end

local LrTasks = {
  startAsyncTask = function(fn, name) start_task(fn, name) end,
  canYield = function()
    local task, co = current_task()
    return task ~= nil and (boundary[co] or 0) == 0
  end,
  sleep = function(seconds) wait('LrTasks.sleep', seconds) end,
  yield = function() wait('LrTasks.yield', 0) end,
  -- Runs a shell line (sh here; cmd.exe on Windows) and waits for it: its exit status.
  execute = function(line)
    wait('LrTasks.execute')
    FakeSdk.record.executed[#FakeSdk.record.executed + 1] = line
    local status = os.execute(line)
    return status
  end,
}

-- Like pcall, but a yield inside passes through to the task (a coroutine of its own).
function LrTasks.pcall(fn, ...)
  local task, outer = current_task()
  if not task then return pcall(fn, ...) end
  local co = coroutine.create(fn)
  task_of[co] = task
  local results = pack(coroutine.resume(co, ...))
  while coroutine.status(co) ~= 'dead' do
    if (boundary[outer] or 0) > 0 then
      violation('Yielding is not allowed within a C or metamethod call (LrTasks.pcall inside a plain pcall)', 2)
    end
    results = pack(coroutine.resume(co, coroutine.yield(unpack(results, 2, results.n))))
  end
  if not results[1] then return false, results[2] end
  return true, unpack(results, 2, results.n)
end

-- Function contexts ------------------------------------------------------------------------------
local Context = {}
local context_methods = {}
function context_methods:addCleanupHandler(fn) self._cleanup[#self._cleanup + 1] = fn end
function context_methods:addFailureHandler(fn) self._failure[#self._failure + 1] = fn end
function context_methods:addOperationTitleForError(title) self._title = title end
local context_meta = strict('LrFunctionContext', context_methods)

function Context.new()
  return setmetatable({ _cleanup = {}, _failure = {} }, context_meta)
end

local function call_with_context(_, fn, ...)
  local context = Context.new()
  local results = pack(LrTasks.pcall(fn, context, ...))
  if not results[1] then for _, handler in ipairs(context._failure) do handler(false, results[2]) end end
  for i = #context._cleanup, 1, -1 do context._cleanup[i](results[1], results[2]) end
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, results.n)
end
FakeSdk.call_with_context = call_with_context

local LrFunctionContext = {
  callWithContext = call_with_context,
  postAsyncTaskWithContext = function(name, fn) start_task(function() call_with_context(name, fn) end, name) end,
}

-- Progress scopes --------------------------------------------------------------------------------
local scope_methods = {}
local function scope_alive(scope, what)
  if scope._ended_by then violation(what .. ' on a progress scope that ' .. scope._ended_by, 3) end
end
function scope_methods:setPortionComplete(done, total)
  scope_alive(self, 'setPortionComplete')
  local portion = total and done / total or done
  self._portions[#self._portions + 1] = portion
  record.portions[#record.portions + 1] = portion
end
function scope_methods:setCaption(text)
  scope_alive(self, 'setCaption')
  self._captions[#self._captions + 1] = text
  record.captions[#record.captions + 1] = text
end
function scope_methods:isCanceled()
  scope_alive(self, 'isCanceled')
  self._polls = self._polls + 1
  if self._cancel_after_polls and self._polls >= self._cancel_after_polls then self._canceled = true end
  return self._canceled
end
function scope_methods:cancel() self._canceled = true end
function scope_methods:isDone() return self._ended_by ~= nil end
function scope_methods:done()
  if not self._ended_by then self._ended_by = 'is done' end
end
function scope_methods:attachToFunctionContext(context)
  self._attached = true
  context:addCleanupHandler(function() self:done() end)
end
local scope_meta = strict('LrProgressScope', scope_methods)

local function new_scope(params, own)
  local scope = setmetatable({ _title = params.title, _captions = {}, _portions = {}, _polls = 0,
                               _canceled = false, _own = own }, scope_meta)
  record.scopes[#record.scopes + 1] = scope
  return scope
end

-- The scopes of one's own that still show in Lightroom's activity area.
function FakeSdk.open_scopes()
  local open = {}
  for _, scope in ipairs(record.scopes) do
    if scope._own and not scope._ended_by then open[#open + 1] = scope._title or '?' end
  end
  return open
end

local function LrProgressScope(params)
  check_named_args('LrProgressScopeConstructor', params)
  local scope = new_scope(params, true)
  scope._cancel_after_polls = FakeSdk.cancel_wait_after
  if params.functionContext then scope:attachToFunctionContext(params.functionContext) end
  return scope
end

-- HTTP -------------------------------------------------------------------------------------------
local function request(what, method, url, body, headers, timeout)
  if headers ~= nil and (type(headers) ~= 'table' or (next(headers) ~= nil and headers[1] == nil)) then
    violation(what .. ': headers are a list of { field = ..., value = ... }', 3)
  end
  local fields = {}
  for _, h in ipairs(headers or {}) do
    if type(h) ~= 'table' or type(h.field) ~= 'string' then
      violation(what .. ': each header is { field = ..., value = ... }', 3)
    end
    fields[h.field:lower()] = tostring(h.value)
  end
  if body then
    if fields['content-type'] == nil then fields['content-type'] = 'text/plain'
    elseif fields['content-type'] == 'skip' then fields['content-type'] = nil end
    fields['content-length'] = tostring(#body)
  end
  wait(what)
  record.requests[#record.requests + 1] = { method = method, url = url }
  local chunks = {}
  http.TIMEOUT = timeout or 30
  local ok, code, response_headers = http.request {
    url = url, method = method, headers = fields, sink = ltn12.sink.table(chunks),
    source = body and ltn12.source.string(body) or nil,
  }
  if not ok then
    -- LrHttp is reported to throw for some failures rather than answer with an error.
    if FakeSdk.http_throws then error(what .. ': ' .. tostring(code), 3) end
    return nil, { error = { errorCode = 'cannotConnectToHost', name = tostring(code) } }
  end
  local info = { status = code }
  for k, v in pairs(response_headers or {}) do info[#info + 1] = { field = k, value = v } end
  return table.concat(chunks), info
end

local LrHttp = {
  get = function(url, headers, timeout) return request('LrHttp.get', 'GET', url, nil, headers, timeout) end,
  post = function(url, body, headers, method, timeout)
    return request('LrHttp.post', method or 'POST', url, body, headers, timeout)
  end,
  openUrlInBrowser = function(url)
    if type(url) ~= 'string' then violation('LrHttp.openUrlInBrowser takes a URL string', 2) end
    record.opened_urls[#record.opened_urls + 1] = url
  end,
}

-- Files, paths, prefs, logging, dates ------------------------------------------------------------
local function kind_of(path)
  local fh = real_open(path, 'rb')
  if not fh then return false end
  local _, err = fh:read(1)
  fh:close()
  if err and err:find('directory') then return 'directory' end
  return 'file'
end

local LrFileUtils = {
  exists = kind_of,
  readFile = function(path)
    if kind_of(path) ~= 'file' then return nil end
    local fh = assert(real_open(path, 'rb'))
    local text = fh:read('*a')
    fh:close()
    return text
  end,
  createAllDirectories = function(path) return os.execute('mkdir -p "' .. path .. '"') == 0 end,
}

local function folder_of(path) return (tostring(path):match('^(.*)/[^/]+$')) end

local LrPathUtils = {
  getStandardFilePath = function(which)
    local paths = { home = FakeSdk.home, documents = FakeSdk.home .. '/Documents', temp = os.getenv('TMPDIR') or '/tmp',
                    appData = FakeSdk.home .. '/AppData/Roaming' }
    return paths[which] or error('the fake LrPathUtils knows no standard path ' .. tostring(which))
  end,
  child = function(a, b) return a .. '/' .. b end,
  parent = function(path) return (path:match('^(.*)/[^/]+$')) end,
  leafName = function(path) return (path:match('[^/]+$')) end,
}

local LrPrefs = { prefsForPlugin = function() return FakeSdk.prefs end }

-- The Lightroom version running (LrApplication.versionTable).
FakeSdk.version = { major = 14, minor = 0 }

-- Where LrLogger's 'logfile' writes: Documents/LrClassicLogs/<name>.log up to Lightroom Classic
-- 12; from 13, the system's logs folder (macOS ~/Library/Logs/Adobe/Lightroom/LrClassicLogs).
function FakeSdk.log_path(name)
  if FakeSdk.version.major >= 13 then
    return FakeSdk.home .. '/Library/Logs/Adobe/Lightroom/LrClassicLogs/' .. name .. '.log'
  end
  return FakeSdk.home .. '/Documents/LrClassicLogs/' .. name .. '.log'
end

local logger_methods = {}
function logger_methods:enable(action)
  if action ~= 'logfile' and action ~= 'print' and type(action) ~= 'table' and type(action) ~= 'function' then
    violation('LrLogger:enable takes "logfile", "print", a table or a function', 2)
  end
  self._action = action
end
function logger_methods:disable() self._action = nil end
local function log_level(level)
  return function(self, ...)
    local text = table.concat({ ... }, ' ')
    record.log[#record.log + 1] = level .. ' ' .. text
    if self._action == 'logfile' then
      os.execute('mkdir -p "' .. FakeSdk.log_path(self._name):match('^(.*)/') .. '"')
      local fh = assert(real_open(FakeSdk.log_path(self._name), 'ab'))
      fh:write(level:upper(), ' ', text, '\n')
      fh:close()
    end
  end
end
for _, level in ipairs({ 'trace', 'debug', 'info', 'warn', 'error', 'fatal' }) do
  logger_methods[level] = log_level(level)
  logger_methods[level .. 'f'] = function(self, fmt, ...) return logger_methods[level](self, string.format(fmt, ...)) end
end
local logger_meta = strict('LrLogger', logger_methods)
local function LrLogger(name) return setmetatable({ _name = name }, logger_meta) end

local LrDate = {
  currentTime = function() return socket.gettime() - EPOCH_2001 end,
  timeToUserFormat = function(t, format, gmt)
    if type(t) ~= 'number' or t > socket.gettime() - EPOCH_2001 + 20 * 365 * 86400 then
      violation('LrDate counts seconds from 2001-01-01, not 1970: ' .. tostring(t)
                .. ' is decades ahead (an os.time() value?)', 2)
    end
    return os.date((gmt and '!' or '') .. format, math.floor(t + EPOCH_2001))
  end,
  timeFromPosixDate = function(t) return t - EPOCH_2001 end,
  timeToPosixDate = function(t) return t + EPOCH_2001 end,
}

-- Dialogs and views ------------------------------------------------------------------------------
local views = setmetatable({}, { __mode = 'k' })  -- what the factory made, and its kind

local function check_children(kind, props)
  for i, child in ipairs(props) do
    if not views[child] then violation('LrView ' .. kind .. ': child ' .. i .. ' is not a view', 4) end
  end
end

local factory = {}
for name in pairs(SDK.controls) do
  local allowed = set_of(SDK.controls[name])
  factory[name] = function(_, props)
    for key in pairs(props) do
      if type(key) ~= 'number' and not allowed[key] then
        violation('LrView ' .. name .. ' has no property "' .. tostring(key) .. '"', 2)
      end
    end
    check_children(name, props)
    views[props] = name
    return props
  end
end
for _, name in ipairs(SDK.factory) do factory[name] = function() return 8 end end
local factory_meta = {
  __index = function(_, name) violation('LrView has no control "' .. tostring(name) .. '"', 2) end,
}

local LrView = {
  osFactory = function() return setmetatable({}, { __index = function(t, name)
    return factory[name] or factory_meta.__index(t, name) end }) end,
  bind = function(key) return { bind = key } end,
  share = function(key) return { share = key } end,
}

-- The text a person would read in a view: every title, in order.
function FakeSdk.text_of(view)
  local lines = {}
  local function walk(node)
    if type(node) ~= 'table' then return end
    if type(node.title) == 'string' then lines[#lines + 1] = node.title end
    for _, child in ipairs(node) do walk(child) end
  end
  walk(view)
  return table.concat(lines, '\n')
end

function FakeSdk.contains(view, kind)
  if views[view] == kind then return true end
  for _, child in ipairs(view) do
    if FakeSdk.contains(child, kind) then return true end
  end
  return false
end

-- The push button titled `title` in a view or a list of sections, as a person finds it.
function FakeSdk.button(view, title)
  if views[view] == 'push_button' and view.title == title then return view end
  for _, child in ipairs(view) do
    local found = type(child) == 'table' and FakeSdk.button(child, title)
    if found then return found end
  end
  return nil
end

-- A dialog's sections: tables of views with a title and a synopsis.
function FakeSdk.check_sections(sections)
  local allowed = set_of({ 'title', 'synopsis', 'bind_to_object', 'spacing', 'margin' })
  for _, section in ipairs(sections) do
    for key in pairs(section) do
      if type(key) ~= 'number' and not allowed[key] then violation('a dialog section has no key "' .. key .. '"', 2) end
    end
    check_children('section', section)
  end
end

local LrDialogs = {
  message = function(message, info, style)
    local _, lines = tostring(info or ''):gsub('\n', '')
    if lines + 1 > FakeSdk.MESSAGE_LINES then
      violation('LrDialogs.message does not scroll: ' .. (lines + 1) .. ' lines cannot all be read', 2)
    end
    record.dialogs[#record.dialogs + 1] = { title = message, text = info, kind = style }
  end,
  showBezel = function(text) record.bezels[#record.bezels + 1] = text end,
  confirm = function(question)
    record.dialogs[#record.dialogs + 1] = { title = question }
    return FakeSdk.confirm_answer
  end,
  presentModalDialog = function(args)
    check_named_args('LrDialogs.presentModalDialog', args)
    if not views[args.contents] then violation('presentModalDialog: contents must be a view', 2) end
    wait('LrDialogs.presentModalDialog')
    record.modals[#record.modals + 1] = { title = args.title, text = FakeSdk.text_of(args.contents),
                                          scrolls = FakeSdk.contains(args.contents, 'scrolled_view') }
    return FakeSdk.modal_answer
  end,
}

-- The catalog ------------------------------------------------------------------------------------
-- The catalog's state, which the test sets up and reads: its file's path, photos, selected, busy
-- (writes to refuse).
state = { path = '/fake/Lightroom Catalog.lrcat', photos = {}, busy = 0, keywords = {}, selected = {},
          tx = nil, props = {}, undo = {} }
FakeSdk.catalog = state
local Catalog = {}
FakeSdk.fields = {}  -- id -> definition, from the plugin's MetadataDefinition.lua

local function in_write(what, full)
  local tx = state.tx
  if not tx then violation(what .. ' must be called inside a catalog write (withWriteAccessDo)', 3) end
  if full and tx.private then violation(what .. ' needs withWriteAccessDo, not withPrivateWriteAccessDo', 3) end
  may_yield(what)
  return tx
end

local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len = c < 0x80 and 1 or (c >= 0xC2 and c < 0xE0) and 2 or (c >= 0xE0 and c < 0xF0) and 3
                or (c >= 0xF0 and c < 0xF5) and 4 or nil
    if not len or i + len - 1 > n then return false end
    for j = i + 1, i + len - 1 do
      local b = s:byte(j)
      if b < 0x80 or b > 0xBF then return false end
    end
    i = i + len
  end
  return true
end
FakeSdk.valid_utf8 = valid_utf8

local function check_value(field, value)
  local def = FakeSdk.fields[field]
  if not def then violation('no field "' .. tostring(field) .. '" is declared in the metadata definition', 3) end
  if value == nil then return end
  local kind = def.dataType or 'string'
  if kind == 'string' or kind == 'url' then
    if type(value) ~= 'string' then violation('field ' .. field .. ' takes a string, not a ' .. type(value), 3) end
    if not valid_utf8(value) then violation('field ' .. field .. ': not valid UTF-8 (a character cut in two?)', 3) end
    if def.searchable and #value >= FakeSdk.SEARCHABLE_LIMIT then
      violation('Searchable strings must be less than 512 bytes (field ' .. field .. ', ' .. #value .. ' bytes)', 3)
    end
  elseif kind == 'enum' then
    local ok = false
    for _, v in ipairs(def.values or {}) do if v.value == value then ok = true end end
    if not ok then violation('field ' .. field .. ': ' .. tostring(value) .. ' is not one of its values', 3) end
  end
end

local function run_write(kind, name, fn, params)
  record.write_attempts = record.write_attempts + 1
  if state.tx then
    violation("LrCatalog:" .. kind .. ": could not execute action '" .. tostring(name)
              .. "': it is nested inside another write", 3)
  end
  wait('LrCatalog:' .. kind)
  -- A scenario's Lightroom that refuses writes while it exports (refuse_writes_in_export).
  if state.busy > 0 or (FakeSdk.refuse_writes_in_export and FakeSdk.exporting) then
    state.busy = math.max(state.busy - 1, 0)
    if params and params.timeout then
      if params.callback then params.callback() end
      return 'aborted'
    end
    error("LrCatalog:withWriteAccessDo: could not execute action '" .. tostring(name) .. "'. It was blocked by "
          .. 'another write access call, and no timeout parameters were provided.', 2)
  end
  local tx = { private = kind == 'withPrivateWriteAccessDo', props = {}, keywords = {}, created = {}, added = {},
               catalog_props = {} }
  state.tx = tx
  -- Not a C boundary: the catalog's own calls may yield inside (may_yield); a plain pcall may not.
  local results = pack(real_pcall(fn))
  state.tx = nil
  if not results[1] then error(results[2], 0) end  -- a failed write changes nothing
  local undo = { name = name, props = {}, keywords = {}, created = {}, added = tx.added, catalog_props = {} }
  for _, change in ipairs(tx.props) do
    table.insert(undo.props, 1, { photo = change.photo, field = change.field, value = change.photo._props[change.field] })
    change.photo._props[change.field] = change.value
  end
  for _, change in ipairs(tx.catalog_props) do
    table.insert(undo.catalog_props, 1, { field = change.field, value = state.props[change.field] })
    state.props[change.field] = change.value
  end
  for path, keyword in pairs(tx.created) do
    state.keywords[path] = keyword
    undo.created[#undo.created + 1] = path
  end
  for _, add in ipairs(tx.keywords) do
    local list = add.photo._keywords
    list[#list + 1] = add.keyword._path
    undo.keywords[#undo.keywords + 1] = list
  end
  for _, add in ipairs(tx.added) do
    state.photos[#state.photos + 1] = add.photo
    if add.with then  -- a stack: its photos top first, shared by them all
      local stack = add.with._stack or { add.with }
      local at = 1
      for i, p in ipairs(stack) do if p == add.with then at = i end end
      table.insert(stack, add.position == 'above' and at or at + 1, add.photo)
      add.with._stack, add.photo._stack = stack, stack
    end
  end
  if not tx.private then state.undo[#state.undo + 1] = undo end  -- a private write makes no undo step
  record.writes = record.writes + 1
  return 'executed'
end

local function remove(list, value)
  for i = #list, 1, -1 do if list[i] == value then table.remove(list, i) end end
end

-- The person's Ctrl/Cmd-Z: the last withWriteAccessDo write is taken back, whatever wrote it.
-- Returns its name, or nil when there is nothing to undo.
function FakeSdk.undo()
  local undo = table.remove(state.undo)
  if not undo then return nil end
  for _, change in ipairs(undo.props) do change.photo._props[change.field] = change.value end
  for _, change in ipairs(undo.catalog_props) do state.props[change.field] = change.value end
  for _, path in ipairs(undo.created) do state.keywords[path] = nil end
  for _, list in ipairs(undo.keywords) do table.remove(list) end
  for _, add in ipairs(undo.added) do
    remove(state.photos, add.photo)
    if add.photo._stack then
      remove(add.photo._stack, add.photo)
      if #add.photo._stack == 1 then add.photo._stack[1]._stack = nil end
      add.photo._stack = nil
    end
  end
  record.undone = (record.undone or 0) + 1
  return undo.name
end

local function plugin_handle(plugin)
  if plugin ~= _PLUGIN then violation('the plug-in argument must be _PLUGIN', 3) end
end

local catalog_methods = {}
function catalog_methods:withWriteAccessDo(name, fn, params) return run_write('withWriteAccessDo', name, fn, params) end
function catalog_methods:withPrivateWriteAccessDo(fn, params)
  return run_write('withPrivateWriteAccessDo', 'private', fn, params)
end
function catalog_methods:getTargetPhotos() return state.selected end

-- The Library's active sources (its left panel): LrCollection and LrFolder objects with the
-- members the reference lists, or a special value (catalog.kAllPhotos, ...). FakeSdk.set_sources
-- sets them from a scenario's `sources`; All Photographs otherwise.
catalog_methods.kAllPhotos, catalog_methods.kPreviousImport = 'kAllPhotos', 'kPreviousImport'
catalog_methods.kQuickCollectionIdentifier = 'kQuickCollectionIdentifier'
local collection_meta = strict('LrCollection', {
  getName = function(self) return self._name end,
  type = function() return 'LrCollection' end,
})
local folder_meta = strict('LrFolder', {
  getName = function(self) return (self._path:match('[^/]+$')) end,
  getPath = function(self) return self._path end,
  type = function() return 'LrFolder' end,
})
-- specs: a list of { collection = name } | { folder = path } | a special value's name ('kAllPhotos').
function FakeSdk.set_sources(specs)
  state.sources = {}
  for i, spec in ipairs(specs or {}) do
    if type(spec) == 'string' then
      state.sources[i] = catalog_methods[spec] or error('the fake catalog has no ' .. spec)
    elseif spec.collection then
      state.sources[i] = setmetatable({ localIdentifier = 900 + i, _name = spec.collection }, collection_meta)
    else
      state.sources[i] = setmetatable({ _path = spec.folder }, folder_meta)
    end
  end
end
function catalog_methods:getActiveSources()
  if not state.sources or #state.sources == 0 then return { catalog_methods.kAllPhotos } end
  return { unpack(state.sources) }
end
function catalog_methods:getPath() return state.path end
-- Lightroom builds an LrPhoto for each photo on its main thread: a big catalog freezes it.
FakeSdk.PHOTO_SECONDS, FakeSdk.FREEZE_SECONDS = 0.00002, 0.5
function catalog_methods:getAllPhotos()
  record.all_photos_read = record.all_photos_read + 1
  local count = #state.photos + (state.more_photos or 0)
  if count * FakeSdk.PHOTO_SECONDS > FakeSdk.FREEZE_SECONDS then
    violation(string.format('getAllPhotos on %d photos freezes Lightroom for %.1f s: use findPhotosWithProperty',
                            count, count * FakeSdk.PHOTO_SECONDS), 2)
  end
  return { unpack(state.photos) }
end

function catalog_methods:findPhotosWithProperty(plugin_id, field)
  if plugin_id ~= _PLUGIN.id then violation('findPhotosWithProperty takes the plug-in\'s id', 2) end
  if not FakeSdk.fields[field] then violation('no field "' .. tostring(field) .. '" is declared', 2) end
  local found = {}
  for _, photo in ipairs(state.photos) do
    if photo._props[field] ~= nil then found[#found + 1] = photo end
  end
  return found
end

function catalog_methods:findPhotoByUuid(uuid)
  for _, photo in ipairs(state.photos) do if photo._uuid == uuid then return photo end end
  return nil
end

-- The catalog's own plug-in properties: they live in the catalog file, whatever its path.
function catalog_methods:getPropertyForPlugin(plugin, field)
  if plugin ~= _PLUGIN and plugin ~= _PLUGIN.id then violation('the plug-in argument must be _PLUGIN', 2) end
  return state.props[field]
end
function catalog_methods:setPropertyForPlugin(plugin, field, value)
  if plugin ~= _PLUGIN then violation('the plug-in argument must be _PLUGIN', 2) end
  local tx = in_write('LrCatalog:setPropertyForPlugin')
  if type(value) == 'table' or type(value) == 'function' then
    violation('LrCatalog:setPropertyForPlugin takes no table or function', 2)
  end
  tx.catalog_props[#tx.catalog_props + 1] = { field = field, value = value }
end
function catalog_methods:batchGetPropertyForPlugin(photos, plugin, fields)
  plugin_handle(plugin)
  local out = {}
  for _, photo in ipairs(photos) do
    out[photo] = {}
    for _, field in ipairs(fields) do out[photo][field] = photo:getPropertyForPlugin(_PLUGIN, field) end
  end
  return out
end

local keyword_meta = strict('LrKeyword', {
  getName = function(self) return self._name end,
  getParent = function(self) return self._parent end,
})

function catalog_methods:createKeyword(name, _synonyms, _include, parent, return_existing)
  local tx = in_write('createKeyword', true)
  local path = (parent and (parent._path .. ' > ') or '') .. name
  if tx.asked and tx.asked[path] then
    violation('createKeyword "' .. path .. '" twice in one write: Lightroom\'s assertion aborts the whole write', 2)
  end
  tx.asked = tx.asked or {}
  tx.asked[path] = true
  local existing = state.keywords[path]
  if existing then return return_existing and existing or false end
  tx.created[path] = setmetatable({ _name = name, _path = path, _parent = parent }, keyword_meta)
  return tx.created[path]
end
setmetatable(Catalog, strict('LrCatalog', catalog_methods))

local photo_methods = {}
local photo_meta = strict('LrPhoto', photo_methods)

local last_id = 0
-- A photo's uuid, unless the scenario gives one: made from its local id.
local function uuid_of(id)
  return string.format('%08X-0000-4000-8000-%012X', tonumber(id) or 0, tonumber(id) or 0)
end
local function new_photo(id, path)
  last_id = math.max(last_id, tonumber(id) or 0)
  return setmetatable({ localIdentifier = id, _path = path, _props = {}, _keywords = {}, _uuid = uuid_of(id) },
                      photo_meta)
end

function FakeSdk.photo(id, path)
  local photo = new_photo(id, path)
  state.photos[#state.photos + 1] = photo
  return photo
end

function catalog_methods:findPhotoByPath(path)
  for _, photo in ipairs(state.photos) do if photo._path == path then return photo end end
  return nil
end

-- What Lightroom imports (an image or a raw file), by extension.
local IMPORTABLE = set_of({ 'jpg', 'jpeg', 'png', 'tif', 'tiff', 'psd', 'dng', 'heic', 'webp', 'cr2', 'cr3',
                            'nef', 'arw', 'raf', 'orf', 'rw2' })

function catalog_methods:addPhoto(path, stack_with, position)
  local tx = in_write('addPhoto', true)
  if stack_with ~= nil and getmetatable(stack_with) ~= photo_meta then
    violation('addPhoto: stackWithPhoto must be an LrPhoto', 2)
  end
  if position ~= nil and position ~= 'above' and position ~= 'below' then
    violation("addPhoto: the stacking position is 'above' or 'below', not " .. tostring(position), 2)
  end
  if stack_with and folder_of(stack_with._path) ~= folder_of(path) then
    violation('addPhoto: photos in different folders cannot be stacked (' .. tostring(path) .. ' with '
              .. tostring(stack_with._path) .. ')', 2)
  end
  -- The errors Lightroom throws (the plugin may catch them): not violations of a rule.
  if kind_of(path) ~= 'file' then error('LrCatalog:addPhoto: the file does not exist: ' .. tostring(path), 2) end
  if not IMPORTABLE[(path:match('%.([^./]+)$') or ''):lower()] then
    error('LrCatalog:addPhoto: the file format is not supported: ' .. path, 2)
  end
  local taken = self:findPhotoByPath(path)
  for _, add in ipairs(tx.added) do if add.photo._path == path then taken = add.photo end end
  if taken then error('LrCatalog:addPhoto: the file is already in the catalog: ' .. path, 2) end
  local photo = new_photo(last_id + 1, path)
  tx.added[#tx.added + 1] = { photo = photo, with = stack_with, position = position or 'below' }
  return photo
end

-- An export dialog's property table: any key, and observers called when a value changes.
function FakeSdk.property_table(values)
  local store, observers = {}, {}
  for k, v in pairs(values or {}) do store[k] = v end
  local methods = {
    addObserver = function(_, key, fn)
      if type(fn) ~= 'function' then violation('addObserver takes a key and a function', 2) end
      observers[key] = observers[key] or {}
      table.insert(observers[key], fn)
    end,
    removeObserver = function(_, key, fn)
      for i, f in ipairs(observers[key] or {}) do if f == fn then table.remove(observers[key], i) break end end
    end,
    pairs = function() return pairs(store) end,
  }
  return setmetatable({}, {
    __index = function(_, key)
      if store[key] ~= nil then return store[key] end
      return methods[key]
    end,
    __newindex = function(t, key, value)
      if methods[key] then violation('LrObservableTable: "' .. key .. '" is a method, not a property', 2) end
      local old = store[key]
      store[key] = value
      if old ~= value then
        for _, fn in ipairs({ unpack(observers[key] or {}) }) do fn(t, key, value) end
      end
    end,
  })
end

function photo_methods:getPropertyForPlugin(plugin, field)
  plugin_handle(plugin)
  check_value(field, nil)
  return self._props[field]
end

function photo_methods:setPropertyForPlugin(plugin, field, value)
  plugin_handle(plugin)
  local tx = in_write('setPropertyForPlugin')
  check_value(field, value)
  tx.props[#tx.props + 1] = { photo = self, field = field, value = value }
end

function photo_methods:addKeyword(keyword)
  local tx = in_write('addKeyword', true)
  if getmetatable(keyword) ~= keyword_meta then violation('addKeyword needs an LrKeyword', 2) end
  tx.keywords[#tx.keywords + 1] = { photo = self, keyword = keyword }
end

function photo_methods:getRawMetadata(key)
  if key == 'path' then return self._path end
  if key == 'uuid' then return self._uuid end
  error('the fake LrPhoto has no raw metadata ' .. tostring(key) .. ' yet: add it to fake_sdk.lua')
end

function photo_methods:getFormattedMetadata(key)
  if key ~= 'fileName' then error('the fake LrPhoto knows only fileName, not ' .. tostring(key)) end
  return (self._path:match('[^/]+$'))
end

local LrApplication = {
  activeCatalog = function() return Catalog end,
  versionTable = function() return { major = FakeSdk.version.major, minor = FakeSdk.version.minor } end,
}

-- import and require ------------------------------------------------------------------------------
local registry = {
  LrHttp = LrHttp, LrFileUtils = LrFileUtils, LrPathUtils = LrPathUtils, LrPrefs = LrPrefs,
  LrLogger = LrLogger, LrTasks = LrTasks, LrDialogs = LrDialogs, LrView = LrView,
  LrApplication = LrApplication, LrDate = LrDate, LrFunctionContext = LrFunctionContext,
  LrProgressScope = LrProgressScope,
}

local constructors = set_of(SDK.constructors)

function import(name)  -- luacheck: ignore 121
  local listed = set_of(SDK.namespaces[name])
  if not SDK.namespaces[name] and not constructors[name] then
    violation('import: Lightroom has no namespace "' .. tostring(name) .. '"', 2)
  end
  local impl = registry[name] or error('the fake SDK does not offer ' .. name .. ' yet: add it to fake_sdk.lua', 2)
  if type(impl) == 'function' then return impl end
  return setmetatable({}, {
    __index = function(_, key)
      if impl[key] ~= nil then return impl[key] end
      if listed[key] then error('the fake SDK lacks ' .. name .. '.' .. key .. ': add it to fake_sdk.lua', 2) end
      violation(name .. ' has no function "' .. tostring(key) .. '"', 2)
    end,
    __newindex = function() violation(name .. ' is read-only', 2) end,
  })
end

-- Lightroom's require loads a file from the plug-in's root, once.
local function plugin_require(plugin_dir)
  local loaded = {}
  return function(name)
    if loaded[name] ~= nil then return loaded[name] end
    if type(name) ~= 'string' or name:find('[./\\]') then
      violation("require '" .. tostring(name) .. "': Lightroom loads only files at the plug-in's root", 2)
    end
    local chunk = assert(real_loadfile(plugin_dir .. '/' .. name .. '.lua'))
    local value = chunk(name)
    loaded[name] = value == nil and true or value
    return loaded[name]
  end
end

-- Lua's own file functions take the ANSI code page on Windows: a path with other bytes than
-- ASCII (C:\Users\José\...) does not open. Lightroom's LrFileUtils takes UTF-8.
local function ansi_only(name, real)
  return function(path, ...)
    if type(path) == 'string' and path:find('[\128-\255]') then
      violation(name .. ' cannot open ' .. path .. ': Lua\'s own file functions take the ANSI code page '
                .. '(use LrFileUtils.readFile, and loadstring for code)', 2)
    end
    return real(path, ...)
  end
end

-- The globals Lightroom gives a plug-in, for the plug-in at `plugin_dir`.
function FakeSdk.install(plugin_dir)
  loadfile, dofile, io.open = ansi_only('loadfile', real_loadfile), ansi_only('dofile', real_dofile),  -- luacheck: ignore 121 122
                              ansi_only('io.open', real_open)
  _PLUGIN = setmetatable({ id = 'com.aihomedesign.bridge.lightroom', path = plugin_dir, enabled = true },
                         strict('LrPlugin', {}))
  WIN_ENV, MAC_ENV = false, false
  LOC = function(text) return (text:gsub('^%$%$%$[^=]*=', '')) end
  require = plugin_require(plugin_dir)  -- luacheck: ignore 121
  local definition = real_dofile(plugin_dir .. '/MetadataDefinition.lua')
  for _, def in ipairs(definition.metadataFieldsForPhotos) do FakeSdk.fields[def.id] = def end
end
FakeSdk.real_require, FakeSdk.real_pcall = real_require, real_pcall
FakeSdk.real_open, FakeSdk.real_loadfile, FakeSdk.real_dofile = real_open, real_loadfile, real_dofile

-- Lightroom starts with the plug-in enabled: LrInitPlugin runs now only with LrForceInitPlugin;
-- otherwise at the plug-in's first use. `run(file)` runs a file of the plug-in. Returns whether
-- it ran.
function FakeSdk.start(info, run)
  if info.LrForceInitPlugin ~= true or not info.LrInitPlugin then return false end
  run(info.LrInitPlugin)
  return true
end

-- The plug-in reloaded (Plug-in Manager's Reload, or disabled and enabled): LrShutdownPlugin
-- runs (a file that returns an LrShutdownFunction has it called), then the plug-in's files load
-- afresh, their modules too; the old plug-in's tasks go on.
function FakeSdk.reload(info, run, plugin_dir)
  local shutdown = info.LrShutdownPlugin and run(info.LrShutdownPlugin)
  if type(shutdown) == 'table' and shutdown.LrShutdownFunction then
    shutdown.LrShutdownFunction(function() end, function() end)
  end
  FakeSdk.install(plugin_dir)
  if info.LrInitPlugin then run(info.LrInitPlugin) end
end

-- A preset chosen in the export dialog: Lightroom sets its keys one by one, in an order it does
-- not document; here a shuffled one (`seed` picks it).
function FakeSdk.apply_preset(props, values, seed)
  local keys = {}
  for k in pairs(values) do keys[#keys + 1] = k end
  table.sort(keys)
  math.randomseed(seed or os.time())
  for i = #keys, 2, -1 do
    local j = math.random(i)
    keys[i], keys[j] = keys[j], keys[i]
  end
  for _, k in ipairs(keys) do props[k] = values[k] end
  return keys
end

-- An export provider's declarations, against the documented names.
local SECTIONS = set_of({ 'exportLocation', 'fileNaming', 'fileSettings', 'imageSettings',
                          'outputSharpening', 'metadata', 'watermarking' })
local FORMATS = set_of({ 'JPEG', 'PSD', 'TIFF', 'DNG', 'ORIGINAL' })
function FakeSdk.check_provider(provider)
  if provider.hideSections and provider.showSections then violation('use hideSections or showSections, not both') end
  for _, section in ipairs(provider.hideSections or provider.showSections or {}) do
    if not SECTIONS[section] then violation('no export dialog section is named "' .. section .. '"') end
  end
  for _, format in ipairs(provider.allowFileFormats or {}) do
    if not FORMATS[format] then violation('no file format is named "' .. format .. '"') end
  end
end

-- The export context -----------------------------------------------------------------------------
local rendition_methods = {}
local rendition_meta = strict('LrExportRendition', rendition_methods)

local function loop_alive(context, what)
  if context._loop_ended then violation(what .. ' after the renditions loop: Lightroom no longer shows it', 3) end
end

function rendition_methods:waitForRender()
  loop_alive(self._context, 'waitForRender')
  wait('LrExportRendition:waitForRender')
  local context, spec = self._context, self._spec
  context._rendered = context._rendered + 1
  if context._cancel_after and context._rendered >= context._cancel_after then context._scope._canceled = true end
  if spec.fail then return false, 'Render failed: ' .. spec.fail end
  local out = context._render_dir .. '/' .. self._index .. '-' .. spec.source:match('[^/]+$')
  local src, dst = assert(real_open(spec.source, 'rb')), assert(real_open(out, 'wb'))
  dst:write(src:read('*a'))
  src:close()
  dst:close()
  context._made[#context._made + 1] = out
  return true, out
end

function rendition_methods:uploadFailed(message)
  loop_alive(self._context, 'uploadFailed')
  record.failures[tostring(self.photo.localIdentifier)] = message
end

local export_methods = {}
local export_meta = strict('LrExportContext', export_methods)

function export_methods:configureProgress(params)
  check_named_args('LrExportContext:configureProgress', params)
  record.progress_title = params.title
  return self._scope
end

function export_methods:renditions(params)
  check_named_args('LrExportContext:renditions', params)
  local i = 0
  return function()
    if params and params.stopIfCanceled and self._scope._canceled then i = #self._renders end
    i = i + 1
    local spec = self._renders[i]
    if not spec then
      self._loop_ended = true
      self._scope._ended_by = 'belongs to the renditions loop, which has ended'
      return nil
    end
    return i, setmetatable({ photo = spec.photo, _spec = spec, _index = i, _context = self }, rendition_meta)
  end
end

-- renders: list of { photo, source, fail }; cancel_after: renders before the user cancels.
function FakeSdk.export_context(props, renders, render_dir, cancel_after)
  local session = setmetatable({}, strict('LrExportSession', {
    countRenditions = function() return #renders end,
    photosToExport = function()
      local photos = {}
      for i, spec in ipairs(renders) do photos[i] = spec.photo end
      return photos
    end,
  }))
  return setmetatable({ propertyTable = props, exportSession = session, _renders = renders,
                        _render_dir = render_dir, _cancel_after = cancel_after, _rendered = 0, _made = {},
                        _scope = new_scope({}, false), _loop_ended = false }, export_meta)
end

return FakeSdk
