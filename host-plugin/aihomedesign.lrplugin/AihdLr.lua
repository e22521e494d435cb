--[[ The plugin's bridge to the Lightroom SDK for the logic modules: the environment, HTTP through
LrHttp, the bridge connection (started when it does not answer), the debug log, catalog writes
that wait while it is busy, keywords made once per write, results imported and stacked above their
source, and a dialog that scrolls. Keeping the catalog in step with the bridge (its identity,
catch-up, the follow-up) is AihdCatalogSync's. ]]

local LrApplication = import 'LrApplication'
local LrDate = import 'LrDate'
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
local AihdLaunch = load 'AihdLaunch'

local AihdLr = {}

AihdLr.load = load
AihdLr.log = LrLogger('AIHomeDesign')

-- Where LrLogger's 'logfile' lands: Documents/LrClassicLogs up to Lightroom Classic 12; from 13
-- the system's logs folder (macOS ~/Library/Logs/Adobe/Lightroom/LrClassicLogs, Windows
-- %APPDATA%\Adobe\Lightroom\Logs\LrClassicLogs).
local function log_folder()
  local function under(base, ...)
    for _, name in ipairs({ ... }) do base = LrPathUtils.child(base, name) end
    return base
  end
  if (LrApplication.versionTable().major or 0) < 13 then
    return under(LrPathUtils.getStandardFilePath('documents'), 'LrClassicLogs')
  elseif WIN_ENV then
    return under(LrPathUtils.getStandardFilePath('appData'), 'Adobe', 'Lightroom', 'Logs', 'LrClassicLogs')
  end
  return under(LrPathUtils.getStandardFilePath('home'), 'Library', 'Logs', 'Adobe', 'Lightroom', 'LrClassicLogs')
end
AihdLr.LOG_PATH = LrPathUtils.child(log_folder(), 'AIHomeDesign.log')

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
    -- LrHttp may throw rather than answer with an error: either way, no answer.
    local ok, text, info = LrTasks.pcall(function()
      if method == 'GET' then return LrHttp.get(url, list, HTTP_TIMEOUT) end
      return LrHttp.post(url, body or '', list, method, HTTP_TIMEOUT)
    end)
    if not ok then return nil, nil, tostring(text) end
    if info and info.error then
      return nil, nil, info.error.errorCode or info.error.name or 'network error'
    end
    return info and info.status, text
  end,
}

function AihdLr.data_dir()
  return AihdBridge.data_dir(AihdLr.env, LrPrefs.prefsForPlugin().dataDir)
end

local START_WAIT = 20  -- seconds a bridge the plugin started has to prove itself
local started_at  -- when the plugin last started one: at most once a minute

-- The bridge does not answer: start it as the installer recorded (installed.json in the plugin's
-- folder), then wait until it proves itself. Returns a bridge, or nil and why not.
local function start_bridge(data_dir)
  local recorded = AihdLr.env.read_file(LrPathUtils.child(_PLUGIN.path, 'installed.json'))
  if not recorded then return nil, 'the installer did not record how to start it' end
  if started_at and os.time() - started_at < 60 then return nil, 'it was started a moment ago and did not answer' end
  local line, why = AihdLaunch.command(recorded, WIN_ENV, data_dir)
  if not line then return nil, why end
  started_at = os.time()
  AihdLr.log:info('starting the bridge: ' .. line)
  LrTasks.execute(line)
  for _ = 1, START_WAIT * 2 do
    LrTasks.sleep(0.5)
    local bridge = AihdBridge.connect(AihdLr.env, AihdLr.http, data_dir)
    if bridge then return bridge end
  end
  return nil, string.format('it was started, but did not answer within %d s', START_WAIT)
end

-- The running bridge, checked with a health call: bridge, health; or nil, reason. One that is
-- not running is started (start_bridge).
function AihdLr.connect()
  local data_dir, problem = AihdLr.data_dir()
  local bridge, err = AihdBridge.connect(AihdLr.env, AihdLr.http, data_dir, problem)
  if not bridge and data_dir and err:sub(1, #AihdBridge.NOT_RUNNING) == AihdBridge.NOT_RUNNING then
    local why
    bridge, why = start_bridge(data_dir)
    if not bridge then err = err .. ' The plugin could not start it: ' .. why .. '.' end
  end
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
-- wait and try again rather than fail. `private`: only the plugin's own fields, in a
-- withPrivateWriteAccessDo, which makes no step for the person's Undo.
function AihdLr.write_catalog(catalog, title, fn, tries, private)
  local last = 'the catalog stayed busy'
  for attempt = 1, tries or 8 do
    local timed_out = false
    local ok, result = LrTasks.pcall(function()
      local timeout = { timeout = 10, callback = function() timed_out = true end }
      if private then return catalog:withPrivateWriteAccessDo(fn, timeout) end
      return catalog:withWriteAccessDo(title, fn, timeout)
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

local function set_fields(photo, fields)
  for field, value in pairs(fields) do photo:setPropertyForPlugin(_PLUGIN, field, value) end
end

-- Lightroom stacks only photos of one folder: a result beside its source (the bridge writes it
-- into the source's folder) is stacked above it; one elsewhere (made before results went beside
-- their sources) comes in on its own.
local function stack_with(path, photo)
  local here, there = LrPathUtils.parent(path), LrPathUtils.parent(photo:getRawMetadata('path'))
  if WIN_ENV then here, there = here and here:lower(), there and there:lower() end
  return here == there and photo or nil
end

-- Whether a plan writes more than the plugin's own fields (keywords, imports): then it takes a
-- full write, an undo step; otherwise a private one.
local function needs_full_write(writes)
  for _, write in ipairs(writes) do
    if write.keyword or #(write.imports or {}) > 0 then return true end
  end
  return false
end

-- One catalog write of a tagging plan (AihdTagging.plan): fields, each keyword once, and the
-- results imported, each stacked above its source photo and carrying its order id. A result
-- Lightroom refuses (a format it does not read) is reported and the rest of the write goes on.
-- Catalog calls inside a write may yield: only LrTasks.pcall may catch them (a plain pcall fails
-- them all and reports a write that never happened). Returns ok, err, { imported = n, failed =
-- { "path: reason" } }.
function AihdLr.write_tags(catalog, writes)
  local report
  local ok, err = AihdLr.write_catalog(catalog, 'AI HomeDesign order ids', function()
    report = { imported = 0, failed = {} }  -- per attempt: a write timed out did nothing
    local keyword = AihdLr.keywords(catalog)
    for _, write in ipairs(writes) do
      set_fields(write.photo, write.fields)
      if write.keyword then write.photo:addKeyword(keyword(write.keyword)) end
      for _, add in ipairs(write.imports or {}) do
        local with = stack_with(add.path, write.photo)
        local added, photo = LrTasks.pcall(catalog.addPhoto, catalog, add.path, with, with and 'above' or nil)
        if added then
          set_fields(photo, add.fields)
          if add.keyword then photo:addKeyword(keyword(add.keyword)) end
          report.imported = report.imported + 1
        else
          report.failed[#report.failed + 1] = add.path .. ': ' .. tostring(photo)
        end
      end
    end
  end, nil, not needs_full_write(writes))
  for _, text in ipairs(ok and report.failed or {}) do AihdLr.log:warn('result not imported: ' .. text) end
  return ok, err, report
end

-- What AihdTagging.plan needs to bring results in: whether a file is in the catalog (Lightroom
-- finds a photo by its path) and on disk.
function AihdLr.import_options(catalog, options)
  options.in_catalog = function(path) return catalog:findPhotoByPath(path) ~= nil end
  options.on_disk = function(path) return LrFileUtils.exists(path) == 'file' end
  return options
end

function AihdLr.current(photo, field)
  return photo:getPropertyForPlugin(_PLUGIN, field)
end

-- Times: the bridge's are seconds since 1970, Lightroom's since 2001.
local function user_time(epoch, format)
  return LrDate.timeToUserFormat(LrDate.timeFromPosixDate(epoch), format)
end
function AihdLr.clock(epoch) return user_time(epoch, '%H:%M') end
function AihdLr.date_time(epoch) return user_time(epoch, '%Y-%m-%d %H:%M') end
function AihdLr.now_text() return LrDate.timeToUserFormat(LrDate.currentTime(), '%Y-%m-%d %H:%M') end

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
