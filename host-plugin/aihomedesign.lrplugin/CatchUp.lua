--[[ Library menu "Bring In Finished Results": the catch-up, now, from the start of this catalog's
history (AihdCatalogSync.catch_up's reconcile). It imports each finished result beside its source photo
(stacked above it) and brings Status fields and order ids up to date, what an Undo took back too.
The plugin also does it by itself when it loads, before and after each export, and while
batches or orders it left are still going. ]]

local LrDialogs = import 'LrDialogs'
local LrTasks = import 'LrTasks'

local AihdCatalogSync = require 'AihdCatalogSync'
local AihdLr = require 'AihdLr'

local function plural(n, word) return string.format('%d %s%s', n, word, n == 1 and '' or 's') end

LrTasks.startAsyncTask(function()
  local summary, err = AihdCatalogSync.catch_up('menu', nil, nil, true)
  if not summary then
    LrDialogs.message('AI HomeDesign', 'The results and order ids could not be brought in: ' .. tostring(err), 'warning')
    return
  end
  if #summary.import_failures > 0 then
    AihdLr.show_list('AI HomeDesign', plural(#summary.import_failures, 'result') .. ' could not be imported; '
      .. 'they stay where the bridge wrote them.', summary.import_failures)
  end
  if summary.written == 0 then
    LrDialogs.showBezel('AI HomeDesign: nothing new; the results and order ids are up to date')
  else
    LrDialogs.showBezel(string.format('AI HomeDesign: %s in, %s brought up to date',
                                      plural(summary.imported, 'result'), plural(summary.written, 'photo')))
  end
end)
