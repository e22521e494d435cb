--[[ The plugin's one bridge to the Lightroom SDK for the logic modules: the environment,
HTTP through LrHttp, the bridge connection, the debug log, catalog writes that wait while it is
busy, keywords made once per write, and a dialog that scrolls. ]]

local LrDialogs = import 'LrDialogs'
local LrHttp = import 'LrHttp'
local LrFileUtils = import 'LrFileUtils'
local LrPathUtils = import 'LrPathUtils'
local LrPrefs = import 'LrPrefs'
local LrTasks = import 'LrTasks'
local LrLogger = import 'LrLogger'
local LrView = import 'LrView'

local load = require 'AihdLogic'
local AihdBridge = load 'AihdBridge'

local AihdLr = {}

AihdLr.load = load
AihdLr.log = LrLogger('AIHomeDesign')

-- Where LrLogger's 'logfile' lands: Documents/LrClassicLogs/AIHomeDesign.log.
AihdLr.LOG_PATH = LrPathUtils.child(LrPathUtils.child(LrPathUtils.getStandardFilePath('documents'),
                                                      'LrClassicLogs'), 'AIHomeDesign.log')

-- The Plug-in Manager's "Debug log" switch: off, nothing is written.
function AihdLr.apply_log_switch()
  if LrPrefs.prefsForPlugin().debugLog then AihdLr.log:enable('logfile') else AihdLr.log:disable() end
end
AihdLr.apply_log_switch()

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

-- Inside one write: keyword(path) for a path of names ("AI HomeDesign", service, order id),
-- creating each keyword once (a second createKeyword in the same write can abort it all).
function AihdLr.keywords(catalog)
  local made = {}
  return function(path)
    local key, keyword = '', nil
    for _, name in ipairs(path) do
      key = key .. '\0' .. name
      if made[key] == nil then made[key] = catalog:createKeyword(name, {}, false, keyword, true) end
      keyword = made[key]
    end
    return keyword
  end
end

-- A dialog of its own that scrolls, for lists too long for LrDialogs.message.
function AihdLr.show_list(title, summary, lines)
  local f = LrView.osFactory()
  local rows = {}
  for i, line in ipairs(lines) do rows[i] = f:static_text { title = line, selectable = true } end
  LrDialogs.presentModalDialog {
    title = title,
    contents = f:column {
      spacing = f:control_spacing(),
      f:static_text { title = summary, width_in_chars = 60, height_in_lines = -1 },
      f:scrolled_view { width = 620, height = 280, horizontal_scroller = false, f:column(rows) },
    },
    cancelVerb = '< exclude >',
  }
end

return AihdLr
