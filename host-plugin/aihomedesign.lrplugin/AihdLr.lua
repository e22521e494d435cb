--[[ The plugin's one bridge to the Lightroom SDK for the logic modules: the environment,
HTTP through LrHttp, the bridge connection, the debug log, the catalog's identity, catalog
writes that wait while it is busy, keywords made once per write, results imported and stacked
above their source, catch-up (AihdCatchUp) with its cursor in the plugin's prefs, and a dialog
that scrolls. ]]

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
local AihdCatalog = load 'AihdCatalog'
local AihdCatchUp = load 'AihdCatchUp'
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
function AihdLr.now_text() return LrDate.timeToUserFormat(LrDate.currentTime(), '%Y-%m-%d %H:%M') end

-- Catch-up state kept per catalog in the plugin's prefs: its cursor and pending batches.
local function key(name, catalog_id) return name .. '_' .. catalog_id end

-- The identity a catalog gets the first time: that of the file it was upgraded from, when plugin
-- 0.2 used it (a cursor or pending batches kept under it, or orders in the bridge, asked when a
-- `bridge` is at hand), so that its orders, cursor and pending batches are taken over; else its
-- own path's.
local function first_identity(path, bridge)
  local prefs = LrPrefs.prefsForPlugin()
  for _, earlier in ipairs(AihdCatalog.earlier_paths(path)) do
    local id = AihdCatalog.id(earlier)
    if prefs[key('cursor', id)] or prefs[key('pending', id)] then return id end
    local known = bridge and bridge:changes(AihdCatalog.client(id), 0, 1)
    if known and #(known.items or {}) > 0 then return id end
  end
  return AihdCatalog.id(path)
end

-- The active catalog and its identity (AihdCatalog), kept in the catalog itself: read there,
-- or made and written there the first time (in a task: it may wait for the catalog; `bridge`,
-- when connected, tells whether an earlier file's identity had orders).
local IDENTITY = 'catalogId'
function AihdLr.catalog(bridge)
  local catalog = LrApplication.activeCatalog()
  local id = catalog:getPropertyForPlugin(_PLUGIN, IDENTITY)
  if AihdCatalog.valid_id(id) then return catalog, id end
  id = first_identity(catalog:getPath(), bridge)
  local ok, err = AihdLr.write_catalog(catalog, 'AI HomeDesign catalog identity', function()
    catalog:setPropertyForPlugin(_PLUGIN, IDENTITY, id)
  end, nil, true)
  if not ok then AihdLr.log:warn('the catalog\'s identity could not be kept in it: ' .. tostring(err)) end
  return catalog, id
end

local PAGE = 500  -- photos read between two yields: Lightroom stays responsive in a big catalog

-- The photos the plugin has written on, by local id: found by their Status field (every photo
-- handed over has one), never by walking every photo of the catalog.
local function tagged_photos(catalog)
  local index, photos = {}, catalog:findPhotosWithProperty(_PLUGIN.id, 'status')
  for first = 1, #photos, PAGE do
    for i = first, math.min(first + PAGE - 1, #photos) do index[tostring(photos[i].localIdentifier)] = photos[i] end
    LrTasks.yield()
  end
  return index
end

-- The photos the bridge's items name: by their uuid (which a copy of the catalog keeps), else
-- (items of plugin 0.2, which carry the local id only) those at hand in `known`, then among the
-- photos the plugin has written on, looked up once per catch-up.
local function finder(catalog, known)
  local tagged
  return function(wanted)
    local found = {}
    for _, want in ipairs(wanted) do
      if want.uuid then
        found[want.local_id] = catalog:findPhotoByUuid(want.uuid)
      else
        local photo = known and known[want.local_id]
        if not photo then
          tagged = tagged or tagged_photos(catalog)
          photo = tagged[want.local_id]
        end
        found[want.local_id] = photo
      end
    end
    return found
  end
end

-- One catch-up; `reconcile`: from the start of this catalog's history rather than from the
-- cursor, so that what an Undo took back, or a result removed from the catalog, is written
-- again (the plan writes only what the photos lack). The cursor only ever moves on.
local function sync(bridge, known, reconcile)
  local prefs = LrPrefs.prefsForPlugin()
  local catalog, catalog_id = AihdLr.catalog(bridge)
  local pending = AihdCatchUp.pending_from(prefs[key('pending', catalog_id)])
  local summary, err
  if bridge then
    summary, err = AihdCatchUp.sync {
      bridge = bridge, client = AihdCatalog.client(catalog_id), catalog_id = catalog_id,
      cursor = not reconcile and prefs[key('cursor', catalog_id)] or nil,
      save = function(cursor)
        if cursor > (prefs[key('cursor', catalog_id)] or 0) then prefs[key('cursor', catalog_id)] = cursor end
      end,
      find = finder(catalog, known), current = AihdLr.current,
      options = AihdLr.import_options(catalog, {
        add_keyword = prefs.addKeyword ~= false, now = AihdLr.now_text(),
        time_of = function(item) return item.finished_at and user_time(item.finished_at, '%Y-%m-%d %H:%M') end }),
      write = function(writes) return AihdLr.write_tags(catalog, writes) end,
      pending = pending,
    }
    prefs[key('pending', catalog_id)] = AihdCatchUp.pending_text(pending)
  end
  if next(pending) then AihdLr.follow_up() end
  return summary, err
end

local syncing = false

-- Catch-up for the active catalog, in a task, one at a time. `bridge`: a connected one, or nil
-- to connect; `known`: { [local id] = photo } already at hand; `reconcile`: see sync. Returns
-- the summary (AihdCatchUp.sync) or nil and a reason. Whatever fails inside (an SDK call that
-- throws), the next catch-up is not kept waiting.
function AihdLr.catch_up(why, bridge, known, reconcile)
  while syncing do LrTasks.sleep(0.5) end
  syncing = true
  local ok, summary, err = LrTasks.pcall(function()
    local reason
    if not bridge then
      local found, health_or_reason = AihdLr.connect()
      bridge, reason = found, not found and health_or_reason or nil
    end
    local done, why_not = sync(bridge, known, reconcile)
    return done, why_not or reason
  end)
  syncing = false
  if not ok then summary, err = nil, tostring(summary) end
  if summary then
    AihdLr.log:info(string.format('catch-up (%s): %d changes, %d photos written, %d results imported, cursor %s',
                                  why, summary.items, summary.written, summary.imported, tostring(summary.cursor)))
  else
    AihdLr.log:info('catch-up (' .. why .. ') not done: ' .. tostring(err))
  end
  return summary, err
end

local following = false
AihdLr.exporting = 0  -- exports running: Lightroom may refuse a write meanwhile

-- While batches still hold photos for this catalog, ask again now and then (every minute;
-- the pref followInterval in tests), until they have ended. One loop at a time, across reloads
-- of the plugin too: each loop holds a token in the prefs (which outlive a reload), and ends
-- when another loop, or LrShutdownPlugin (AihdLr.stop_following), has taken it.
function AihdLr.follow_up()
  if following then return end
  following = true
  local prefs = LrPrefs.prefsForPlugin()
  local token = string.format('%d %s', os.time(), tostring({}))
  prefs.followToken = token
  LrTasks.startAsyncTask(function()
    local pending
    repeat
      LrTasks.sleep(prefs.followInterval or 60)
      if prefs.followToken ~= token then
        AihdLr.log:info('follow-up ended: a reload or a shutdown took it over')
        break
      end
      while AihdLr.exporting > 0 do LrTasks.sleep(1) end
      local _, catalog_id = AihdLr.catalog()
      pending = AihdCatchUp.pending_from(prefs[key('pending', catalog_id)])
      local bridge = next(pending) and AihdLr.connect()
      if bridge then
        local ended = AihdCatchUp.ended(bridge, pending, prefs[key('cursor', catalog_id)])
        if AihdLr.catch_up('follow-up', bridge) then
          pending = AihdCatchUp.pending_from(prefs[key('pending', catalog_id)])
          for _, batch_id in ipairs(ended) do pending[batch_id] = nil end
          prefs[key('pending', catalog_id)] = AihdCatchUp.pending_text(pending)
        end
      end
    until not next(pending)
    if prefs.followToken == token then prefs.followToken = nil end
    following = false
  end, 'AI HomeDesign follow-up')
end

-- The plugin is unloaded, disabled, or Lightroom quits: a follow-up still sleeping ends when it
-- wakes, and writes nothing more.
function AihdLr.stop_following()
  LrPrefs.prefsForPlugin().followToken = nil
end

-- Keep following a batch the export stopped waiting for.
function AihdLr.keep_following(batch_id)
  local prefs = LrPrefs.prefsForPlugin()
  local _, catalog_id = AihdLr.catalog()
  local pending = AihdCatchUp.pending_from(prefs[key('pending', catalog_id)])
  pending[batch_id] = true
  prefs[key('pending', catalog_id)] = AihdCatchUp.pending_text(pending)
  AihdLr.follow_up()
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
