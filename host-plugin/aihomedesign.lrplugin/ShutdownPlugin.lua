--[[ LrShutdownPlugin: the plugin is reloaded, disabled or removed. Its follow-up may still sleep in
a task of the plugin as it was: it ends when it wakes (AihdCatalogSync.stop_following), so no second loop
writes beside the one the reloaded plugin starts. It runs as a script; should Lightroom ask it for
an LrShutdownFunction, as LrShutdownApp's file gives, it has that too. ]]

local AihdCatalogSync = require 'AihdCatalogSync'

AihdCatalogSync.stop_following()

return require 'ShutdownApp'
