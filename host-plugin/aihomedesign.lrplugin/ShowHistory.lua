--[[ Library menu: the AI HomeDesign orders of the selected photos, from the catalog and the
bridge (one call per 150 photos), in a dialog that scrolls. The bridge knows a photo by its
source id with its uuid, without it (plugin 0.2), or by its bare local id (plugin 0.1): all are
asked. ]]

local LrTasks = import 'LrTasks'

local AihdCatalogSync = require 'AihdCatalogSync'
local AihdLr = require 'AihdLr'
local AihdCatalog = AihdLr.load 'AihdCatalog'
local AihdTagging = AihdLr.load 'AihdTagging'

local BATCH = 150  -- photos per call, three source ids each: a URL stays well under any server's limit

LrTasks.startAsyncTask(function()
  local bridge, health_or_reason = AihdLr.connect()
  local catalog, catalog_id = AihdCatalogSync.catalog(bridge)
  local photos = catalog:getTargetPhotos()
  local fields = catalog:batchGetPropertyForPlugin(photos, _PLUGIN, AihdTagging.FIELDS)
  local reason = not bridge and health_or_reason or nil
  local items = {}
  for first = 1, bridge and #photos or 0, BATCH do
    local ids = {}
    for i = first, math.min(first + BATCH - 1, #photos) do
      local known = AihdCatalog.known_ids(catalog_id, photos[i].localIdentifier, photos[i]:getRawMetadata('uuid'))
      for _, id in ipairs(known) do ids[#ids + 1] = id end
    end
    local answer, why = bridge:history_for(ids)
    if not answer then reason = why break end
    for _, item in ipairs(answer.items) do
      local local_id = AihdCatalog.local_id(catalog_id, item.source_id, true)
      if local_id then
        items[local_id] = items[local_id] or {}
        table.insert(items[local_id], item)
      end
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
