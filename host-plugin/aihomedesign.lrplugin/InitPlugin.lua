--[[ LrInitPlugin: when Lightroom starts (Info.lua's LrForceInitPlugin) or loads the plugin, bring
this catalog's photos up to date with the bridge (AihdCatalogSync.catch_up), in a task of its own:
Lightroom's start never waits for it, and no click is needed. It reconciles: from the start of
this catalog's history, so what an Undo took back, or a result removed, is written again. ]]

local LrTasks = import 'LrTasks'

local AihdCatalogSync = require 'AihdCatalogSync'

LrTasks.startAsyncTask(function() AihdCatalogSync.catch_up('plugin loaded', nil, nil, true) end, 'AI HomeDesign catch-up')
