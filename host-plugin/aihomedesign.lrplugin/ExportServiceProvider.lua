--[[ The "AI HomeDesign" export service: dialog section, then processRenderedPhotos.
Thin glue: the work is in AihdExportJob (the export), AihdTagging (what to write). ]]

local LrApplication = import 'LrApplication'
local LrDate = import 'LrDate'
local LrDialogs = import 'LrDialogs'
local LrTasks = import 'LrTasks'
local LrView = import 'LrView'

local AihdExportJob = require 'AihdExportJob'
local AihdLr = require 'AihdLr'
local AihdServices = require 'AihdServices'
local AihdTagging = require 'AihdTagging'

local provider = {
  hideSections = { 'exportLocation', 'fileNaming', 'video' },
  allowFileFormats = { 'JPEG', 'DNG', 'ORIGINAL' },
  canExportVideo = false,
  hidePrintResolution = true,
  exportPresetFields = {
    { key = 'aihd_service', default = AihdServices.AUTO },
    { key = 'aihd_addKeyword', default = true },
  },
}

local function check_bridge(props)
  local bridge, health_or_reason = AihdLr.connect()
  if bridge then
    props.aihd_status = AihdLr.describe(health_or_reason)
    props.LR_cantExportBecause = nil
  else
    props.aihd_status = health_or_reason
    props.LR_cantExportBecause = health_or_reason
  end
end

function provider.startDialog(props)
  props.aihd_status = 'Looking for the AI HomeDesign bridge...'
  props.LR_cantExportBecause = props.aihd_status
  LrTasks.startAsyncTask(function() check_bridge(props) end)
end

function provider.sectionsForTopOfDialog(f, props)
  local bind = LrView.bind
  return {
    {
      title = 'AI HomeDesign',
      synopsis = bind 'aihd_status',
      f:row {
        f:static_text { title = 'Service:', alignment = 'right', width = LrView.share 'aihd_label' },
        f:popup_menu { value = bind 'aihd_service', items = AihdServices.list, width_in_chars = 28 },
      },
      f:row {
        f:static_text { title = '', width = LrView.share 'aihd_label' },
        f:checkbox { title = 'Also add the keyword "AI HomeDesign > service > order id"',
                     value = bind 'aihd_addKeyword' },
      },
      f:row {
        f:static_text { title = '', width = LrView.share 'aihd_label' },
        f:push_button { title = 'Check again', action = function()
          LrTasks.startAsyncTask(function() check_bridge(props) end)
        end },
        f:static_text { title = bind 'aihd_status', fill_horizontal = 1, height_in_lines = 2 },
      },
    },
  }
end

function provider.processRenderedPhotos(_functionContext, exportContext)
  local props = exportContext.propertyTable
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
  AihdLr.log:info(string.format('export of %d photos, service %s', total, tostring(props.aihd_service)))

  local job = AihdExportJob.new {
    bridge = bridge,
    total = total,
    fields = AihdServices.request_fields(props.aihd_service),
    progress = {
      set = function(portion, caption)
        scope:setPortionComplete(portion)
        scope:setCaption(caption)
      end,
      canceled = function() return scope:isCanceled() end,
    },
    sleep = LrTasks.sleep,
    now = os.time,
    log = function(text) AihdLr.log:info(text) end,
  }
  local renditions, photos = {}, {}
  for _, rendition in exportContext:renditions { stopIfCanceled = true } do
    local source_id = tostring(rendition.photo.localIdentifier)
    renditions[source_id], photos[source_id] = rendition, rendition.photo
    job:hand_over(source_id, function() return rendition:waitForRender() end)
  end
  local results = job:finish()

  local ordered, failed = 0, 0
  for source_id, item in pairs(results) do
    if item.state == 'done' then
      ordered = ordered + 1
    elseif renditions[source_id] then
      failed = failed + 1
      renditions[source_id]:uploadFailed(item.state == 'cancelled' and 'Cancelled' or tostring(item.error))
    end
  end

  local catalog = LrApplication.activeCatalog()
  local writes = AihdTagging.plan(photos, results,
    function(photo, field) return photo:getPropertyForPlugin(_PLUGIN, field) end,
    { add_keyword = props.aihd_addKeyword, now = LrDate.timeToUserFormat(LrDate.currentTime(), '%Y-%m-%d %H:%M') })
  local ok, err = AihdLr.write_catalog(catalog, 'AI HomeDesign order ids', function()
    for _, write in ipairs(writes) do
      for field, value in pairs(write.fields) do
        write.photo:setPropertyForPlugin(_PLUGIN, field, value)
      end
      if write.keyword then
        local keyword
        for _, name in ipairs(write.keyword) do
          keyword = catalog:createKeyword(name, {}, false, keyword, true)
        end
        write.photo:addKeyword(keyword)
      end
    end
  end)
  if not ok then
    AihdLr.log:error('could not tag the photos: ' .. tostring(err))
    LrDialogs.message('AI HomeDesign', 'The photos were ordered, but Lightroom did not let the '
      .. 'plugin write the order ids (' .. tostring(err) .. '). "Order History of Selected Photos" '
      .. 'in the Library menu shows them from the bridge.', 'warning')
  end
  LrDialogs.showBezel(string.format('AI HomeDesign: %d ordered, %d not', ordered, failed))
end

return provider
