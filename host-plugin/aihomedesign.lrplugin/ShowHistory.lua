--[[ Library menu: the AI HomeDesign orders of the selected photos, from the catalog and the bridge. ]]

local LrApplication = import 'LrApplication'
local LrDialogs = import 'LrDialogs'
local LrTasks = import 'LrTasks'

local AihdLr = require 'AihdLr'
local AihdTagging = require 'AihdTagging'

LrTasks.startAsyncTask(function()
  local photos = LrApplication.activeCatalog():getTargetPhotos()
  local bridge, reason = AihdLr.connect()
  local lines = {}
  for _, photo in ipairs(photos) do
    local fields = {}
    for _, name in ipairs(AihdTagging.FIELDS) do fields[name] = photo:getPropertyForPlugin(_PLUGIN, name) end
    local answer = bridge and bridge:history_for(photo.localIdentifier)
    for _, text in ipairs(AihdTagging.history_lines(photo:getFormattedMetadata('fileName'), fields,
                                                    answer and answer.items)) do
      lines[#lines + 1] = text
    end
  end
  if not bridge then lines[#lines + 1] = '(' .. reason .. ')' end
  LrDialogs.message('AI HomeDesign order history', table.concat(lines, '\n'), 'info')
end)
