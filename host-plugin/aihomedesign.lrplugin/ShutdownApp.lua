--[[ LrShutdownApp: Lightroom quits. The follow-up stops (AihdLr.stop_following); what it had not
brought in yet comes at the next start (InitPlugin). ]]

local AihdLr = require 'AihdLr'

return {
  LrShutdownFunction = function(done)
    AihdLr.stop_following()
    done()
  end,
}
