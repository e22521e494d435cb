--[[ LrShutdownApp: Lightroom quits. Its LrShutdownFunction ends the follow-up (AihdLr.stop_following);
what it had not brought in yet comes with the catch-up at the next start. ]]

local AihdLr = require 'AihdLr'

return {
  LrShutdownFunction = function(done)
    AihdLr.stop_following()
    done()
  end,
}
