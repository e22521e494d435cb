--[[ The plugin's one bridge to the Lightroom SDK for the logic modules: the environment,
HTTP through LrHttp, the bridge connection, and catalog writes that wait while it is busy. ]]

local LrHttp = import 'LrHttp'
local LrFileUtils = import 'LrFileUtils'
local LrPathUtils = import 'LrPathUtils'
local LrPrefs = import 'LrPrefs'
local LrTasks = import 'LrTasks'
local LrLogger = import 'LrLogger'

local AihdBridge = require 'AihdBridge'

local AihdLr = {}

AihdLr.log = LrLogger('AIHomeDesign')
AihdLr.log:enable('logfile')

AihdLr.env = {
  getenv = function(name) return os.getenv(name) end,
  read_file = function(path)
    if LrFileUtils.exists(path) == 'file' then return LrFileUtils.readFile(path) end
  end,
  home = LrPathUtils.getStandardFilePath('home'),
  windows = WIN_ENV == true,
  mac = MAC_ENV == true,
}

local HTTP_TIMEOUT = 30

AihdLr.http = {
  request = function(method, url, body, headers)
    local list = {}
    for field, value in pairs(headers) do list[#list + 1] = { field = field, value = value } end
    local text, info
    if method == 'GET' then
      text, info = LrHttp.get(url, list, HTTP_TIMEOUT)
    else
      text, info = LrHttp.post(url, body or '', list, method, HTTP_TIMEOUT)
    end
    if info and info.error then
      return nil, nil, info.error.errorCode or info.error.name or 'network error'
    end
    return info and info.status, text
  end,
}

function AihdLr.data_dir()
  return AihdBridge.data_dir(AihdLr.env, LrPrefs.prefsForPlugin().dataDir)
end

-- The running bridge, checked with a health call: bridge, health; or nil, reason.
function AihdLr.connect()
  local bridge, err = AihdBridge.connect(AihdLr.env, AihdLr.http, AihdLr.data_dir())
  if not bridge then return nil, err end
  local health, why = bridge:health()
  if not health then return nil, why end
  return bridge, health
end

function AihdLr.describe(health)
  if health.mode == 'sandbox' then
    return 'Bridge running in sandbox mode: order ids are not real (set an API key with '
      .. '"aihd-bridge config set-key" to order for real).'
  end
  return 'Bridge running, version ' .. tostring(health.version) .. ': photos are ordered for real.'
end

-- One catalog write with timeout parameters; while another write holds the catalog,
-- wait and try again rather than fail.
function AihdLr.write_catalog(catalog, title, fn, tries)
  local last = 'the catalog stayed busy'
  for attempt = 1, tries or 8 do
    local timed_out = false
    local ok, result = LrTasks.pcall(function()
      return catalog:withWriteAccessDo(title, fn, {
        timeout = 10, callback = function() timed_out = true end })
    end)
    if ok and not timed_out then return true end
    if not ok then
      last = tostring(result)
      if not last:find('blocked') and not last:find('timed out') then return false, last end
    end
    AihdLr.log:info('catalog busy (' .. last .. '), attempt ' .. attempt)
    LrTasks.sleep(2)
  end
  return false, last
end

return AihdLr
