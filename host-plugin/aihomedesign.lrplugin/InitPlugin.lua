--[[ LrInitPlugin: when Lightroom loads the plugin, bring this catalog's photos up to date with
what the bridge finished meanwhile (AihdLr.catch_up), in a task of its own: Lightroom's start
never waits for it, and no click is needed. ]]

local LrTasks = import 'LrTasks'

local AihdLr = require 'AihdLr'

LrTasks.startAsyncTask(function() AihdLr.catch_up('plugin loaded') end, 'AI HomeDesign catch-up')
