--[[ Finding the bridge (bridge.json in its data dir) and calling its local API.
No Lightroom imports: the caller passes an `env` with
  getenv(name), read_file(path), home (the user's home folder), windows (boolean), mac (boolean)
and an `http` with request(method, url, body, headers) -> status, body, error_code. ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdJson = need 'AihdJson'

local AihdBridge = {}

local function join(windows, ...)
  return table.concat({ ... }, windows and '\\' or '/')
end

-- The bridge's data dir: AIHD_HOME, else the same place platformdirs picks for the bridge.
function AihdBridge.data_dir(env, override)
  if override and override ~= '' then return override end
  local home_env = env.getenv('AIHD_HOME')
  if home_env and home_env ~= '' then return home_env end
  if env.windows then
    return join(true, env.getenv('LOCALAPPDATA') or join(true, env.home, 'AppData', 'Local'), 'aihd-bridge')
  end
  if env.mac then
    return join(false, env.home, 'Library', 'Application Support', 'aihd-bridge')
  end
  local xdg = env.getenv('XDG_DATA_HOME')
  return join(false, (xdg and xdg ~= '') and xdg or join(false, env.home, '.local', 'share'), 'aihd-bridge')
end

AihdBridge.NOT_RUNNING = 'The AI HomeDesign bridge is not running. Start it with "aihd-bridge serve" '
  .. '(or run install.sh again, which makes it start at login), then export again.'

-- A client for the bridge serving `data_dir`, or nil and a reason a photographer can read.
function AihdBridge.connect(env, http, data_dir)
  local info_path = join(env.windows, data_dir, 'bridge.json')
  local text = env.read_file(info_path)
  if not text then return nil, AihdBridge.NOT_RUNNING end
  local info = AihdJson.decode(text)
  if type(info) ~= 'table' or type(info.url) ~= 'string' or type(info.token) ~= 'string' then
    return nil, 'The bridge left a damaged ' .. info_path .. '. Restart it with "aihd-bridge serve".'
  end
  return setmetatable({ url = info.url, token = info.token, http = http, data_dir = data_dir },
                      { __index = AihdBridge })
end

-- One call: the decoded answer, or nil and a one-line reason.
function AihdBridge:call(method, path, payload)
  local headers = { Authorization = 'Bearer ' .. self.token, Accept = 'application/json' }
  local body
  if payload ~= nil then
    body = AihdJson.encode(payload)
    headers['Content-Type'] = 'application/json'
  end
  local status, text, err = self.http.request(method, self.url .. path, body, headers)
  if not status then
    return nil, AihdBridge.NOT_RUNNING .. ' (' .. tostring(err or 'no answer') .. ')', true
  end
  local data = AihdJson.decode(text or '')
  if status >= 200 and status < 300 and type(data) == 'table' then return data end
  local message = type(data) == 'table' and data.error or ('HTTP ' .. tostring(status))
  return nil, 'The bridge refused: ' .. tostring(message)
end

function AihdBridge:health()
  return self:call('GET', '/v1/health')
end

-- Hand files over; joins `batch_id` when given so one export is one batch.
function AihdBridge:hand_over(items, fields, batch_id)
  local payload = { items = AihdJson.array(items), client = 'lightroom', batch_id = batch_id }
  for k, v in pairs(fields or {}) do payload[k] = v end
  return self:call('POST', '/v1/uploads', payload)
end

function AihdBridge:batch(batch_id)
  return self:call('GET', '/v1/batches/' .. batch_id)
end

function AihdBridge:cancel(batch_id)
  return self:call('POST', '/v1/batches/' .. batch_id .. '/cancel', {})
end

local function escape(text)
  return (tostring(text):gsub('[^%w%-_.]', function(c) return string.format('%%%02X', c:byte()) end))
end

-- The bridge's record of the photos with these source ids, in one call (newest first).
function AihdBridge:history_for(source_ids)
  local query = {}
  for i, id in ipairs(source_ids) do query[i] = 'source_id=' .. escape(id) end
  return self:call('GET', '/v1/history?limit=1000&' .. table.concat(query, '&'))
end

return AihdBridge
