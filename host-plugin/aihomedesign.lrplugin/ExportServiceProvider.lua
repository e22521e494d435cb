--[[ The "AI HomeDesign" export service: dialog section, then processRenderedPhotos.
Thin glue: the work is in AihdExportJob (the export), AihdTagging (what to write), AihdOrder
(submit, space and widgets; AihdOrderDialog their menus), AihdProperty (which property: the Property
field, else the collection exported from, else the first photo's folder), and AihdCatalogSync.catch_up
(what the bridge finished outside any export, before and after this one, results included). ]]

local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrPathUtils = import 'LrPathUtils'
local LrPrefs = import 'LrPrefs'
local LrProgressScope = import 'LrProgressScope'
local LrTasks = import 'LrTasks'
local LrView = import 'LrView'

local AihdCatalogSync = require 'AihdCatalogSync'
local AihdLr = require 'AihdLr'
local AihdOrderDialog = require 'AihdOrderDialog'
local AihdCatalog = AihdLr.load 'AihdCatalog'
local AihdExportJob = AihdLr.load 'AihdExportJob'
local AihdOrder = AihdLr.load 'AihdOrder'
local AihdProperty = AihdLr.load 'AihdProperty'
local AihdServices = AihdLr.load 'AihdServices'
local AihdTagging = AihdLr.load 'AihdTagging'

local provider = {
  hideSections = { 'exportLocation', 'fileNaming' },
  allowFileFormats = { 'JPEG', 'DNG', 'ORIGINAL' },
  canExportVideo = false,
  hidePrintResolution = true,
  exportPresetFields = {
    { key = 'aihd_service', default = AihdServices.AUTO },
    { key = 'aihd_addKeyword', default = true },
    { key = 'aihd_project', default = '' },  -- the Property field: empty, the collection's or folder's name
    unpack(AihdOrderDialog.fields),
  },
}

local function check_bridge(props)
  local bridge, health_or_reason = AihdLr.connect()
  props.aihd_status = bridge and AihdLr.describe(health_or_reason) or health_or_reason
  props.aihd_bridge_problem = not bridge and health_or_reason or nil
  AihdOrderDialog.connected(props, bridge)
end

-- The name of the collection being exported from: the catalog's one active source, when it is a
-- collection (a smart one too); nil for a folder, a special source (strings) or several.
local function active_collection(catalog)
  local sources = catalog:getActiveSources() or {}
  local source = #sources == 1 and sources[1] or nil
  if source == nil or type(source) == 'string' then return nil end
  local ok, kind = pcall(function() return source:type() end)
  if ok and kind == 'LrCollection' then return source:getName() end
  return nil
end

-- The line under the Property field: what an empty field stands for, read in a task.
local function show_property(props)
  props.aihd_project_note = AihdProperty.note(props.aihd_project, props.aihd_project_collection,
                                              props.aihd_project_first, props.aihd_project_known)
end

function provider.startDialog(props)
  props.aihd_status = 'Looking for the AI HomeDesign bridge...'
  props.aihd_bridge_problem = props.aihd_status
  AihdOrderDialog.start(props)
  props.aihd_project_known = false
  show_property(props)
  props:addObserver('aihd_project', function() show_property(props) end)
  LrTasks.startAsyncTask(function() check_bridge(props) end)
  LrTasks.startAsyncTask(function()
    local catalog = LrApplication.activeCatalog()
    local first = (catalog:getTargetPhotos() or {})[1]
    props.aihd_project_collection = active_collection(catalog)
    props.aihd_project_first = first and first:getRawMetadata('path')
    props.aihd_project_known = true
    show_property(props)
  end, 'AI HomeDesign property')
end

function provider.sectionsForTopOfDialog(f, props)
  local bind = LrView.bind
  local section = {
    title = 'AI HomeDesign',
    synopsis = bind 'aihd_status',
    f:row {
      f:static_text { title = 'Service:', alignment = 'right', width = LrView.share 'aihd_label' },
      f:popup_menu { value = bind 'aihd_service', items = AihdServices.list, width_in_chars = 28 },
    },
  }
  section[#section + 1] = f:row {
    f:static_text { title = 'Property:', alignment = 'right', width = LrView.share 'aihd_label' },
    f:edit_field { value = bind 'aihd_project', width_in_chars = 28, immediate = true,
                   tooltip = 'The property (an address) these photos are of: the API files the orders under it' },
  }
  section[#section + 1] = f:row {
    f:static_text { title = '', width = LrView.share 'aihd_label' },
    f:static_text { title = bind 'aihd_project_note', fill_horizontal = 1 },
  }
  for _, row in ipairs(AihdOrderDialog.rows(f)) do section[#section + 1] = row end
  section[#section + 1] = f:row {
    f:static_text { title = '', width = LrView.share 'aihd_label' },
    f:checkbox { title = 'Also add the keyword "AI HomeDesign > service > order id"',
                 value = bind 'aihd_addKeyword' },
  }
  section[#section + 1] = f:row {
    f:static_text { title = '', width = LrView.share 'aihd_label' },
    f:push_button { title = 'Check again', action = function()
      LrTasks.startAsyncTask(function() check_bridge(props) end)
    end },
    f:static_text { title = bind 'aihd_status', fill_horizontal = 1, height_in_lines = 2 },
  }
  return { section }
end

-- The photos that failed after the render loop, when Lightroom's own list no longer takes them.
local function report_failures(photos, results, reported, total)
  local lines = {}
  for source_id, item in pairs(results) do
    if item.state == 'failed' and not reported[source_id] then
      lines[#lines + 1] = photos[source_id]:getFormattedMetadata('fileName') .. ': ' .. tostring(item.error)
    end
  end
  if #lines == 0 then return end
  table.sort(lines)
  AihdLr.show_list('AI HomeDesign', string.format('%d of %d photos were not ordered. Each one\'s Status '
    .. 'field says why; "Order History of Selected Photos" shows them again.', #lines, total), lines)
end

-- What each photo gets in the catalog, and the results already finished: one write, each
-- keyword created once in it. Returns how many results came in. A write Lightroom refuses while
-- it exports is done again once the export has ended (the follow-up's catch-up).
local function tag_photos(props, photos, results, batch_id)
  local catalog = LrApplication.activeCatalog()
  local writes = AihdTagging.plan(photos, results, AihdLr.current, AihdLr.import_options(catalog,
                                  { add_keyword = props.aihd_addKeyword, now = AihdLr.now_text() }))
  local ok, err, report = AihdLr.write_tags(catalog, writes)
  if ok then return report.imported end
  AihdLr.log:error('could not tag the photos: ' .. tostring(err))
  if batch_id then AihdCatalogSync.keep_following(batch_id) end
  LrDialogs.message('AI HomeDesign', 'The photos were ordered, but Lightroom did not let the plugin write '
    .. 'the order ids while it exported (' .. tostring(err) .. '). They are written by themselves once the '
    .. 'export has ended.', 'warning')
  return 0
end

local function progress_of(scope)
  return {
    set = function(portion, caption)
      scope:setPortionComplete(portion)
      scope:setCaption(caption)
    end,
    canceled = function() return scope:isCanceled() end,
  }
end

function provider.processRenderedPhotos(functionContext, exportContext)
  AihdLr.apply_log_switch()
  AihdCatalogSync.exporting = AihdCatalogSync.exporting + 1  -- the follow-up writes nothing until it has ended
  functionContext:addCleanupHandler(function() AihdCatalogSync.exporting = AihdCatalogSync.exporting - 1 end)
  local props, prefs = exportContext.propertyTable, LrPrefs.prefsForPlugin()
  local total = exportContext.exportSession:countRenditions()
  local scope = exportContext:configureProgress {
    title = string.format('Sending %d photo%s to AI HomeDesign', total, total == 1 and '' or 's'),
  }
  local bridge, health_or_reason = AihdLr.connect()
  if not bridge then
    for _, rendition in exportContext:renditions { stopIfCanceled = true } do
      rendition:uploadFailed(health_or_reason)
    end
    LrDialogs.message('AI HomeDesign', health_or_reason, 'critical')
    return
  end
  -- With Auto the service, so its space and widgets, is the bridge's choice per photo.
  local auto = props.aihd_service == AihdServices.AUTO
  local order = AihdOrder.request(props.aihd_submit, not auto and props.aihd_space or '',
                                  auto and {} or AihdOrder.widgets_from(props.aihd_widgets))
  -- The property: the field's, else the collection exported from, else the first photo's folder.
  local fields = AihdServices.request_fields(props.aihd_service)
  local first = exportContext.exportSession:photosToExport()[1]
  fields.project = AihdProperty.choose(props.aihd_project, active_collection(LrApplication.activeCatalog()),
                                       first and first:getRawMetadata('path'))
  AihdLr.log:info(string.format('export of %d photos, service %s, submit %s, property %s', total,
                                tostring(props.aihd_service), tostring(order.submit), tostring(fields.project)))
  prefs.addKeyword = props.aihd_addKeyword  -- what catch-up does for this catalog from now on
  AihdCatalogSync.catch_up('before export', bridge)
  local _, catalog_id = AihdCatalogSync.catalog(bridge)

  local job = AihdExportJob.new {
    bridge = bridge, client = AihdCatalog.client(catalog_id), total = total,
    fields = fields, progress = progress_of(scope),
    sleep = LrTasks.sleep, now = os.time, clock = AihdLr.clock, wait_limit = prefs.waitLimit,
    log = function(text) AihdLr.log:info(text) end, item_fields = order,
  }
  -- The render loop: failures known now go to Lightroom's own list, inside the loop.
  local photos, by_local, renditions, reported, canceled = {}, {}, {}, {}, false
  for _, rendition in exportContext:renditions { stopIfCanceled = true } do
    local photo = rendition.photo
    local local_id = tostring(photo.localIdentifier)
    local source_id = AihdCatalog.source_id(catalog_id, local_id, photo:getRawMetadata('uuid'))
    photos[source_id], by_local[local_id], renditions[source_id] = photo, photo, rendition
    -- Results are named after the photo and written beside it, where Lightroom can stack them.
    local original = photo:getRawMetadata('path')
    local own = { name = LrPathUtils.leafName(original), results_dir = LrPathUtils.parent(original) }
    for _, failure in ipairs(job:hand_over(source_id, function() return rendition:waitForRender() end, own)) do
      renditions[failure.source_id]:uploadFailed(failure.error)
      reported[failure.source_id] = true
    end
    canceled = scope:isCanceled()
  end

  -- The wait: the loop's progress ended with the loop, so it has one of its own.
  local waiting = LrProgressScope { title = 'AI HomeDesign: waiting for the uploads', functionContext = functionContext }
  if canceled then job:cancel_in_bridge() end
  local results, batch_id = job:finish(progress_of(waiting))
  waiting:done()

  local count = { done = 0, failed = 0, cancelled = 0, waiting = 0, following = 0 }
  for _, item in pairs(results) do
    count[item.state] = (count[item.state] or 0) + 1
    if AihdOrder.pending(item) then count.following = count.following + 1 end
  end
  local imported = tag_photos(props, photos, results, batch_id)
  report_failures(photos, results, reported, total)
  if job.timed_out then
    AihdCatalogSync.keep_following(batch_id)
    LrDialogs.message('AI HomeDesign', string.format('%d of %d photos are still on their way: the bridge '
      .. 'keeps them and orders them as soon as it can. Their order ids will be written onto them by '
      .. 'themselves, even if Lightroom is closed in the meantime (then when it starts again).',
      count.waiting, total), 'info')
  end
  -- Submitted orders go on in the bridge: their results come in by the follow-up.
  if count.following > 0 then AihdCatalogSync.keep_following(batch_id) end
  local summary = AihdCatalogSync.catch_up('after export', bridge, by_local)
  imported = imported + (summary and summary.imported or 0)
  LrDialogs.showBezel(string.format('AI HomeDesign: %d ordered, %d not ordered, %d cancelled%s%s', count.done,
    count.failed, count.cancelled, count.waiting > 0 and string.format(', %d on their way', count.waiting) or '',
    order.submit and string.format('; %d result%s in%s', imported, imported == 1 and '' or 's',
      count.following > 0 and ', more as their orders finish' or '') or ''))
end

return provider
