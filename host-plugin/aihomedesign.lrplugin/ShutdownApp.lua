--[[ LrShutdownApp: Lightroom quits. Its LrShutdownFunction ends the follow-up (AihdCatalogSync.stop_following);
what it had not brought in yet comes with the catch-up at the next start. ]]

local AihdCatalogSync = require 'AihdCatalogSync'

return {
  LrShutdownFunction = function(done)
    AihdCatalogSync.stop_following()
    done()
  end,
}
