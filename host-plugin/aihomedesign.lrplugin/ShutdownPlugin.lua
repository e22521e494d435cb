--[[ LrShutdownPlugin: the plugin is reloaded or disabled. Its follow-up may still sleep in a task
of the plugin as it was: it ends when it wakes (AihdLr.stop_following), so no second loop writes
beside the one the reloaded plugin starts. ]]

local AihdLr = require 'AihdLr'

AihdLr.stop_following()
