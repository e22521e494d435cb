--[[ The Plug-in Manager section: is the bridge running, in which mode, where its data is;
the Debug log switch; and the bridge's status page in the browser. ]]

local LrHttp = import 'LrHttp'
local LrPrefs = import 'LrPrefs'
local LrTasks = import 'LrTasks'
local LrView = import 'LrView'

local AihdLr = require 'AihdLr'

local info = {}

local function refresh(props)
  local dir, problem = AihdLr.data_dir()
  props.aihd_dataDir = dir or problem
  local bridge, health_or_reason = AihdLr.connect()
  if bridge then
    props.aihd_status = AihdLr.describe(health_or_reason)
    props.aihd_version = tostring(health_or_reason.version)
    props.aihd_mode = health_or_reason.mode
  else
    props.aihd_status, props.aihd_version, props.aihd_mode = health_or_reason, '-', '-'
  end
end

function info.startDialog(props)
  props.aihd_status = 'Looking for the bridge...'
  props.aihd_logPath = AihdLr.LOG_PATH
  LrTasks.startAsyncTask(function() refresh(props) end)
end

-- The status page, through a one-time link from the bridge (the browser trades it for a
-- session cookie); asked only once the bridge has proven itself (AihdLr.connect).
local function open_status_page(props)
  local bridge, health_or_reason = AihdLr.connect()
  local link, why
  if bridge then link, why = bridge:status_page_link() else why = health_or_reason end
  if link then
    LrHttp.openUrlInBrowser(link.url)
  else
    props.aihd_status = 'The status page could not be opened: ' .. tostring(why)
  end
end

-- The switch takes effect when the Plug-in Manager closes (and at each export).
function info.endDialog()
  AihdLr.apply_log_switch()
end

function info.sectionsForTopOfDialog(f, props)
  local bind = LrView.bind
  local function line(label, key)
    return f:row {
      f:static_text { title = label, width = LrView.share 'aihd_info_label' },
      f:static_text { title = bind(key), fill_horizontal = 1 },
    }
  end
  return {
    {
      title = 'AI HomeDesign bridge',
      line('Status:', 'aihd_status'),
      line('Mode:', 'aihd_mode'),
      line('Bridge version:', 'aihd_version'),
      line('Data folder:', 'aihd_dataDir'),
      f:row {
        f:static_text { title = 'Use another data folder:', width = LrView.share 'aihd_info_label' },
        -- For a bridge started with its own AIHD_HOME: where its bridge.json is.
        f:edit_field { value = bind { key = 'dataDir', bind_to_object = LrPrefs.prefsForPlugin() },
                       width_in_chars = 40, immediate = false },
      },
      f:row {
        f:checkbox { title = 'Debug log', value = bind { key = 'debugLog', bind_to_object = LrPrefs.prefsForPlugin() },
                     width = LrView.share 'aihd_info_label' },
        f:static_text { title = 'writes ' .. AihdLr.LOG_PATH, fill_horizontal = 1, selectable = true },
      },
      f:row {
        f:push_button { title = 'Check again', action = function()
          LrTasks.startAsyncTask(function() refresh(props) end)
        end },
        f:push_button { title = 'Open status page', action = function()
          LrTasks.startAsyncTask(function() open_status_page(props) end)
        end },
      },
    },
  }
end

return info
