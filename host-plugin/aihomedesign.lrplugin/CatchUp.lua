--[[ Library menu: bring order ids up to date, now (the plugin also does it by itself when it
loads, before and after each export, and while batches it left are still going). ]]

local LrDialogs = import 'LrDialogs'
local LrTasks = import 'LrTasks'

local AihdLr = require 'AihdLr'

LrTasks.startAsyncTask(function()
  local summary, err = AihdLr.catch_up('menu')
  if not summary then
    LrDialogs.message('AI HomeDesign', 'The order ids could not be brought up to date: ' .. tostring(err), 'warning')
  elseif summary.written == 0 then
    LrDialogs.showBezel('AI HomeDesign: the order ids are up to date')
  else
    LrDialogs.showBezel(string.format('AI HomeDesign: %d photo%s brought up to date', summary.written,
                                      summary.written == 1 and '' or 's'))
  end
end)
