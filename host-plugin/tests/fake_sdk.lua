--[[ A fake Lightroom SDK, enough to run the plugin's real files under plain lua5.1.
`import 'LrX'` returns fakes from the registry below; HTTP is real (luasocket). Everything the
plugin does to Lightroom is recorded in `FakeSdk.record` for the test to check. ]]

local http = require 'socket.http'
local ltn12 = require 'ltn12'
local socket = require 'socket'

local FakeSdk = { record = { dialogs = {}, bezels = {}, captions = {}, portions = {}, failures = {},
                             log = {}, write_attempts = 0 } }
local record = FakeSdk.record

_PLUGIN = { id = 'com.aihomedesign.bridge.lightroom' }
WIN_ENV, MAC_ENV = false, false

function LOC(text)
  return (text:gsub('^%$%$%$[^=]*=', ''))
end

-- LrHttp -----------------------------------------------------------------------------------
local function request(method, url, body, headers, timeout)
  local fields = {}
  for _, h in ipairs(headers or {}) do fields[h.field:lower()] = h.value end
  if body then fields['content-length'] = tostring(#body) end
  if method == 'POST' and not fields['content-type'] then fields['content-type'] = 'text/plain' end
  local chunks = {}
  http.TIMEOUT = timeout or 30
  local ok, code, response_headers = http.request {
    url = url, method = method, headers = fields, sink = ltn12.sink.table(chunks),
    source = body and ltn12.source.string(body) or nil,
  }
  if not ok then
    return nil, { error = { errorCode = 'cannotConnectToHost', name = tostring(code) } }
  end
  local info = { status = code }
  for k, v in pairs(response_headers or {}) do info[#info + 1] = { field = k, value = v } end
  return table.concat(chunks), info
end

local LrHttp = {
  get = function(url, headers, timeout) return request('GET', url, nil, headers, timeout) end,
  post = function(url, body, headers, method, timeout)
    return request(method or 'POST', url, body, headers, timeout)
  end,
}

-- Files, paths, prefs, logging, dates --------------------------------------------------------
local LrFileUtils = {
  exists = function(path)
    local fh = io.open(path, 'rb')
    if not fh then return false end
    fh:close()
    return 'file'
  end,
  readFile = function(path)
    local fh = assert(io.open(path, 'rb'))
    local text = fh:read('*a')
    fh:close()
    return text
  end,
}

local LrPathUtils = {
  getStandardFilePath = function(which)
    assert(which == 'home', 'fake LrPathUtils knows only home')
    return os.getenv('HOME')
  end,
  child = function(a, b) return a .. '/' .. b end,
}

FakeSdk.prefs = {}
local LrPrefs = { prefsForPlugin = function() return FakeSdk.prefs end }

local function logger(name)
  local function write(level)
    return function(_, text) record.log[#record.log + 1] = level .. ' ' .. tostring(text) end
  end
  return { enable = function() end, info = write('info'), warn = write('warn'),
           error = write('error'), trace = write('trace') }
end

local LrDate = {
  currentTime = function() return os.time() end,
  timeToUserFormat = function(t, fmt) return os.date(fmt, t) end,
}

-- Tasks, dialogs, views ------------------------------------------------------------------------
FakeSdk.sleep_scale = 1
local LrTasks = {
  startAsyncTask = function(fn) fn() end,
  pcall = pcall,
  sleep = function(seconds) socket.sleep(seconds * FakeSdk.sleep_scale) end,
}

FakeSdk.confirm_answer = 'ok'
local LrDialogs = {
  message = function(title, text, kind)
    record.dialogs[#record.dialogs + 1] = { title = title, text = text, kind = kind }
  end,
  showBezel = function(text) record.bezels[#record.bezels + 1] = text end,
  confirm = function(question) record.dialogs[#record.dialogs + 1] = { title = question }
    return FakeSdk.confirm_answer end,
}

local factory = setmetatable({}, { __index = function(_, kind)
  return function(_, props) props._kind = kind return props end
end })
local LrView = {
  osFactory = function() return factory end,
  bind = function(key) return { bind = key } end,
  share = function(key) return { share = key } end,
}

-- The catalog ----------------------------------------------------------------------------------
local Catalog = { photos = {}, busy = 0, writing = false, keywords = {}, selected = {} }
FakeSdk.catalog = Catalog

local function in_write(what)
  if not Catalog.writing then
    error(what .. ' must be called inside a catalog write (withWriteAccessDo)', 3)
  end
end

function Catalog:withWriteAccessDo(name, fn, params)
  record.write_attempts = record.write_attempts + 1
  if self.busy > 0 then
    self.busy = self.busy - 1
    if params and params.timeout then
      if params.callback then params.callback() end
      return 'aborted'
    end
    error("LrCatalog:withWriteAccessDo: could not execute action '" .. name .. "'. It was blocked by "
          .. 'another write access call, and no timeout parameters were provided.')
  end
  self.writing = true
  local ok, err = pcall(fn)
  self.writing = false
  if not ok then error(err, 0) end
  record.writes = (record.writes or 0) + 1
  return 'executed'
end

function Catalog:withPrivateWriteAccessDo(fn, params)
  return self:withWriteAccessDo('private', fn, params)
end

function Catalog:getTargetPhotos()
  return self.selected
end

function Catalog:createKeyword(name, _synonyms, _include, parent, return_existing)
  in_write('createKeyword')
  local path = (parent and (parent.path .. ' > ') or '') .. name
  if self.keywords[path] then return return_existing and self.keywords[path] or false end
  self.keywords[path] = { name = name, path = path }
  return self.keywords[path]
end

local Photo = {}
Photo.__index = Photo

function FakeSdk.photo(id, path)
  local photo = setmetatable({ localIdentifier = id, path = path, props = {}, keywords = {} }, Photo)
  Catalog.photos[#Catalog.photos + 1] = photo
  return photo
end

function Photo:getPropertyForPlugin(plugin, field)
  assert(plugin == _PLUGIN, 'wrong plugin handle')
  return self.props[field]
end

function Photo:setPropertyForPlugin(plugin, field, value)
  assert(plugin == _PLUGIN, 'wrong plugin handle')
  in_write('setPropertyForPlugin')
  self.props[field] = value
end

function Photo:addKeyword(keyword)
  in_write('addKeyword')
  assert(type(keyword) == 'table', 'addKeyword needs a keyword')
  self.keywords[#self.keywords + 1] = keyword.path
end

function Photo:getFormattedMetadata(key)
  assert(key == 'fileName')
  return (self.path:match('[^/]+$'))
end

local LrApplication = { activeCatalog = function() return Catalog end }

local registry = {
  LrHttp = LrHttp, LrFileUtils = LrFileUtils, LrPathUtils = LrPathUtils, LrPrefs = LrPrefs,
  LrLogger = logger, LrTasks = LrTasks, LrDialogs = LrDialogs, LrView = LrView,
  LrApplication = LrApplication, LrDate = LrDate,
  LrFunctionContext = { callWithContext = function(_, fn, ...) return fn({ addCleanupHandler = function() end }, ...) end },
}

function import(name)
  return registry[name] or error('the fake SDK has no ' .. name)
end

-- The export context -----------------------------------------------------------------------------
local Scope = {}
Scope.__index = Scope
function Scope:setPortionComplete(p) record.portions[#record.portions + 1] = p end
function Scope:setCaption(text) record.captions[#record.captions + 1] = text end
function Scope:isCanceled() return self.canceled end

-- renders: list of { photo, source, fail } ; cancel_after: renders before the user cancels
function FakeSdk.export_context(props, renders, render_dir, cancel_after)
  local scope = setmetatable({ canceled = false }, Scope)
  local rendered, made = 0, {}
  local context = { propertyTable = props, scope = scope, made = made,
                    exportSession = { countRenditions = function() return #renders end } }
  function context:configureProgress(params)
    record.progress_title = params.title
    return scope
  end
  function context:renditions(params)
    local i = 0
    return function()
      if params and params.stopIfCanceled and scope.canceled then return nil end
      i = i + 1
      local spec = renders[i]
      if not spec then return nil end
      local rendition = { photo = spec.photo }
      function rendition:waitForRender()
        rendered = rendered + 1
        if cancel_after and rendered >= cancel_after then scope.canceled = true end
        if spec.fail then return false, 'Render failed: ' .. spec.fail end
        local out = render_dir .. '/' .. i .. '-' .. spec.source:match('[^/]+$')
        local src, dst = assert(io.open(spec.source, 'rb')), assert(io.open(out, 'wb'))
        dst:write(src:read('*a'))
        src:close()
        dst:close()
        made[#made + 1] = out
        return true, out
      end
      function rendition:uploadFailed(message)
        record.failures[tostring(spec.photo.localIdentifier)] = message
      end
      return i, rendition
    end
  end
  return context
end

return FakeSdk
