--[[ Library menu: the AI HomeDesign orders of the selected photos, from the catalog and the
bridge (one call for all of them), in a dialog that scrolls. ]]

local LrApplication = import 'LrApplication'
local LrTasks = import 'LrTasks'

local AihdLr = require 'AihdLr'
local AihdTagging = AihdLr.load 'AihdTagging'

local BATCH = 200  -- source ids per call: a URL stays well under any server's limit

LrTasks.startAsyncTask(function()
  local catalog = LrApplication.activeCatalog()
  local photos = catalog:getTargetPhotos()
  local fields = catalog:batchGetPropertyForPlugin(photos, AihdTagging.FIELDS)
  local bridge, health_or_reason = AihdLr.connect()
  local reason = not bridge and health_or_reason or nil
  local items = {}
  for first = 1, bridge and #photos or 0, BATCH do
    local ids = {}
    for i = first, math.min(first + BATCH - 1, #photos) do ids[#ids + 1] = tostring(photos[i].localIdentifier) end
    local answer, why = bridge:history_for(ids)
    if not answer then reason = why break end
    for _, item in ipairs(answer.items) do
      items[item.source_id] = items[item.source_id] or {}
      table.insert(items[item.source_id], item)
    end
  end
  local lines = {}
  for _, photo in ipairs(photos) do
    for _, text in ipairs(AihdTagging.history_lines(photo:getFormattedMetadata('fileName'), fields[photo] or {},
                                                    items[tostring(photo.localIdentifier)])) do
      lines[#lines + 1] = text
    end
  end
  local summary = string.format('%d photo%s', #photos, #photos == 1 and '' or 's')
  if reason then summary = summary .. ' (the bridge\'s record is missing: ' .. reason .. ')' end
  AihdLr.show_list('AI HomeDesign order history', summary, lines)
end)
