--[[ This catalog in step with the bridge: its identity (kept in the catalog, AihdCatalog), catch-up
(AihdCatchUp) with its cursor and pending batches in the plugin's prefs, the reconcile, and the
follow-up while batches it left are going, one loop across reloads. ]]

local LrApplication = import 'LrApplication'
local LrPrefs = import 'LrPrefs'
local LrTasks = import 'LrTasks'

local AihdLr = require 'AihdLr'
local AihdCatalog = AihdLr.load 'AihdCatalog'
local AihdCatchUp = AihdLr.load 'AihdCatchUp'

local AihdCatalogSync = {}

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
function AihdCatalogSync.catalog(bridge)
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
  local catalog, catalog_id = AihdCatalogSync.catalog(bridge)
  local pending = AihdCatchUp.ids_from(prefs[key('pending', catalog_id)])
  local summary, err
  if bridge then
    summary, err = AihdCatchUp.sync {
      bridge = bridge, client = AihdCatalog.client(catalog_id), catalog_id = catalog_id,
      cursor = not reconcile and prefs[key('cursor', catalog_id)] or nil, reconcile = reconcile,
      save = function(cursor)
        if cursor > (prefs[key('cursor', catalog_id)] or 0) then prefs[key('cursor', catalog_id)] = cursor end
      end,
      find = finder(catalog, known), current = AihdLr.current,
      options = AihdLr.import_options(catalog, {
        add_keyword = prefs.addKeyword ~= false, now = AihdLr.now_text(),
        cleared = AihdCatchUp.ids_from(prefs[key('cleared', catalog_id)]),
        time_of = function(item) return item.finished_at and AihdLr.date_time(item.finished_at) end }),
      write = function(writes) return AihdLr.write_tags(catalog, writes) end,
      pending = pending,
    }
    prefs[key('pending', catalog_id)] = AihdCatchUp.ids_text(pending)
  end
  if next(pending) then AihdCatalogSync.follow_up() end
  return summary, err
end

local syncing = false

-- Catch-up for the active catalog, in a task, one at a time. `bridge`: a connected one, or nil
-- to connect; `known`: { [local id] = photo } already at hand; `reconcile`: see sync. Returns
-- the summary (AihdCatchUp.sync) or nil and a reason. Whatever fails inside (an SDK call that
-- throws), the next catch-up is not kept waiting.
function AihdCatalogSync.catch_up(why, bridge, known, reconcile)
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
AihdCatalogSync.exporting = 0  -- exports running: Lightroom may refuse a write meanwhile

-- While batches still hold photos for this catalog, ask again now and then (every minute;
-- the pref followInterval in tests), until they have ended. One loop at a time, across reloads
-- of the plugin too: each loop holds a token in the prefs (which outlive a reload), and ends
-- when another loop, or LrShutdownPlugin (AihdCatalogSync.stop_following), has taken it.
function AihdCatalogSync.follow_up()
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
      while AihdCatalogSync.exporting > 0 do LrTasks.sleep(1) end
      local _, catalog_id = AihdCatalogSync.catalog()
      pending = AihdCatchUp.ids_from(prefs[key('pending', catalog_id)])
      local bridge = next(pending) and AihdLr.connect()
      if bridge then
        local ended = AihdCatchUp.ended(bridge, pending, prefs[key('cursor', catalog_id)])
        if AihdCatalogSync.catch_up('follow-up', bridge) then
          pending = AihdCatchUp.ids_from(prefs[key('pending', catalog_id)])
          for _, batch_id in ipairs(ended) do pending[batch_id] = nil end
          prefs[key('pending', catalog_id)] = AihdCatchUp.ids_text(pending)
        end
      end
    until not next(pending)
    if prefs.followToken == token then prefs.followToken = nil end
    following = false
  end, 'AI HomeDesign follow-up')
end

-- The person cleared the fields of these orders' photos: catch-up and the reconcile leave them be.
function AihdCatalogSync.forget(order_ids)
  local prefs = LrPrefs.prefsForPlugin()
  local _, catalog_id = AihdCatalogSync.catalog()
  local cleared = AihdCatchUp.ids_from(prefs[key('cleared', catalog_id)])
  for _, order_id in ipairs(order_ids) do cleared[order_id] = true end
  prefs[key('cleared', catalog_id)] = AihdCatchUp.ids_text(cleared)
end

-- The plugin is unloaded, disabled, or Lightroom quits: a follow-up still sleeping ends when it
-- wakes, and writes nothing more.
function AihdCatalogSync.stop_following()
  LrPrefs.prefsForPlugin().followToken = nil
end

-- Keep following a batch the export stopped waiting for.
function AihdCatalogSync.keep_following(batch_id)
  local prefs = LrPrefs.prefsForPlugin()
  local _, catalog_id = AihdCatalogSync.catalog()
  local pending = AihdCatchUp.ids_from(prefs[key('pending', catalog_id)])
  pending[batch_id] = true
  prefs[key('pending', catalog_id)] = AihdCatchUp.ids_text(pending)
  AihdCatalogSync.follow_up()
end

return AihdCatalogSync
