--[[ Library menu: clear the AI HomeDesign fields of the selected photos (keywords stay). Their
orders are remembered as cleared, so that catch-up's reconcile does not write them back; a later
order of the photo is written as usual. ]]

local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrTasks = import 'LrTasks'

local AihdCatalogSync = require 'AihdCatalogSync'
local AihdLr = require 'AihdLr'
local AihdTagging = AihdLr.load 'AihdTagging'

LrTasks.startAsyncTask(function()
  local catalog = LrApplication.activeCatalog()
  local photos = catalog:getTargetPhotos()
  local question = string.format('Clear the AI HomeDesign order fields of %d photo%s?', #photos,
                                 #photos == 1 and '' or 's')
  if LrDialogs.confirm(question, 'The orders themselves are not affected.', 'Clear') ~= 'ok' then
    return
  end
  local order_ids = {}
  for _, values in pairs(catalog:batchGetPropertyForPlugin(photos, _PLUGIN, { 'orderId' })) do
    if values.orderId then order_ids[#order_ids + 1] = values.orderId end
  end
  local ok, err = AihdLr.write_catalog(catalog, 'Clear AI HomeDesign fields', function()
    for _, photo in ipairs(photos) do
      for _, name in ipairs(AihdTagging.FIELDS) do photo:setPropertyForPlugin(_PLUGIN, name, nil) end
    end
  end)
  if ok then
    AihdCatalogSync.forget(order_ids)
  else
    LrDialogs.message('AI HomeDesign', 'Could not clear the fields: ' .. tostring(err), 'critical')
  end
end)
