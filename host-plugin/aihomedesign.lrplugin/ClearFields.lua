--[[ Library menu: clear the AI HomeDesign fields of the selected photos (keywords stay). ]]

local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrTasks = import 'LrTasks'

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
  local ok, err = AihdLr.write_catalog(catalog, 'Clear AI HomeDesign fields', function()
    for _, photo in ipairs(photos) do
      for _, name in ipairs(AihdTagging.FIELDS) do photo:setPropertyForPlugin(_PLUGIN, name, nil) end
    end
  end)
  if not ok then LrDialogs.message('AI HomeDesign', 'Could not clear the fields: ' .. tostring(err), 'critical') end
end)
