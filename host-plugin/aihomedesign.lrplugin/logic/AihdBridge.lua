--[[ Finding the bridge (bridge.json in its data dir) and calling its local API.
No Lightroom imports: the caller passes an `env` with
  getenv(name), read_file(path), home (the user's home folder), windows (boolean), mac (boolean)
and an `http` with request(method, url, body, headers) -> status, body, error_code.

bridge.json outlives a bridge killed with -9, and another program may then hold its port. So
the token goes out only after the process there has proven it holds it: it answers a fresh
nonce with HMAC-SHA256 under the token (the bridge's GET /v1/identity), computed here with
AihdDigest (plain Lua) once per connection. ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdDigest = need 'AihdDigest'
local AihdJson = need 'AihdJson'

local AihdBridge = {}

local function join(windows, ...)
  return table.concat({ ... }, windows and '\\' or '/')
end

-- Whether text is UTF-8 (ASCII is), as Lightroom's paths are. On Windows Lua's os.getenv answers
-- in the ANSI code page instead: C:\Users\José comes as "Jos\233" (Windows-1252), and a letter
-- the code page lacks comes as "?", which nothing can read back.
local function utf8_path(text)
  if text:find('?', 1, true) then return false end
  local i = 1
  while i <= #text do
    local c = text:byte(i)
    local len = c < 0x80 and 1 or (c >= 0xC2 and c < 0xE0) and 2 or (c >= 0xE0 and c < 0xF0) and 3
                or (c >= 0xF0 and c < 0xF5) and 4 or nil
    if not len then return false end
    for j = i + 1, i + len - 1 do
      local b = text:byte(j)
      if not b or b < 0x80 or b > 0xBF then return false end
    end
    i = i + len
  end
  return true
end

AihdBridge.UNREADABLE_HOME = 'AIHD_HOME names a folder with letters Lightroom cannot read from the '
  .. 'environment (%s). In the Plug-in Manager, set "Use another data folder" to that folder.'

-- The bridge's data dir: the one set in the Plug-in Manager, else AIHD_HOME, else the same place
-- platformdirs picks for the bridge. Returns the folder, or nil and a reason: an AIHD_HOME that
-- cannot be read is said, never passed over for another bridge's folder.
function AihdBridge.data_dir(env, override)
  if override and override ~= '' then return override end
  local home_env = env.getenv('AIHD_HOME')
  if home_env and home_env ~= '' then
    if env.windows and not utf8_path(home_env) then return nil, AihdBridge.UNREADABLE_HOME:format(home_env) end
    return home_env
  end
  if env.windows then
    -- %LOCALAPPDATA% is the home folder's AppData\Local: taken from Lightroom's own (UTF-8) home
    -- when the environment's copy is not readable.
    local local_app_data = env.getenv('LOCALAPPDATA')
    if not (local_app_data and utf8_path(local_app_data)) then local_app_data = join(true, env.home, 'AppData', 'Local') end
    return join(true, local_app_data, 'aihd-bridge')
  end
  if env.mac then
    return join(false, env.home, 'Library', 'Application Support', 'aihd-bridge')
  end
  local xdg = env.getenv('XDG_DATA_HOME')
  return join(false, (xdg and xdg ~= '') and xdg or join(false, env.home, '.local', 'share'), 'aihd-bridge')
end

AihdBridge.NOT_RUNNING = 'The AI HomeDesign bridge is not running. Start it with "aihd-bridge serve" '
  .. '(or run install.sh again, which makes it start at login), then export again.'
AihdBridge.STRANGER = 'Another program answers where the AI HomeDesign bridge ran, so nothing was sent '
  .. 'to it. Start the bridge again with "aihd-bridge serve", then export again.'
AihdBridge.TOO_OLD = 'The AI HomeDesign bridge running is older than this plugin. Restart it '
  .. '("aihd-bridge stop", then "aihd-bridge serve"), then export again.'

-- A nonce a stranger cannot foresee: Lua 5.1 has no secure random source, but the token is a
-- secret the stranger lacks, and the time, clock and a fresh table's address make it unique.
local function nonce(token)
  local seed = table.concat({ os.time(), os.clock(), tostring({}), math.random() }, ' ')
  return AihdDigest.hmac_sha256_hex(token, 'nonce ' .. seed):sub(1, 32)
end

-- A client for the bridge serving `data_dir`, or nil and a reason a photographer can read
-- (`problem`: why there is no data dir, AihdBridge.data_dir).
function AihdBridge.connect(env, http, data_dir, problem)
  if not data_dir then return nil, problem end
  local info_path = join(env.windows, data_dir, 'bridge.json')
  local text = env.read_file(info_path)
  if not text then return nil, AihdBridge.NOT_RUNNING end
  local info = AihdJson.decode(text)
  if type(info) ~= 'table' or type(info.url) ~= 'string' or type(info.token) ~= 'string' then
    return nil, 'The bridge left a damaged ' .. info_path .. '. Restart it with "aihd-bridge serve".'
  end
  local bridge = setmetatable({ url = info.url, token = info.token, http = http, data_dir = data_dir },
                              { __index = AihdBridge })
  local proven, why = bridge:prove()
  if not proven then return nil, why end
  return bridge
end

-- Whether the process at the bridge's url holds its token; asked without sending the token.
function AihdBridge:prove()
  local challenge = nonce(self.token)
  local status, text, err = self.http.request('GET', self.url .. '/v1/identity?nonce=' .. challenge,
                                              nil, { Accept = 'application/json' })
  if not status then
    return nil, AihdBridge.NOT_RUNNING .. ' (' .. tostring(err or 'no answer') .. ')'
  end
  local answer = AihdJson.decode(text or '')
  if status == 200 and type(answer) == 'table' and type(answer.pid) == 'number'
      and type(answer.proof) == 'string' and answer.proof == AihdDigest.hmac_sha256_hex(
        self.token, 'aihd-bridge identity ' .. challenge .. ' ' .. string.format('%d', answer.pid)) then
    return true
  end
  return nil, status == 401 and AihdBridge.TOO_OLD or AihdBridge.STRANGER
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

-- Hand files over as `client` (AihdCatalog.client); joins `batch_id` when given so that one
-- export is one batch.
function AihdBridge:hand_over(items, fields, client, batch_id)
  local payload = { items = AihdJson.array(items), client = client, batch_id = batch_id }
  for k, v in pairs(fields or {}) do payload[k] = v end
  return self:call('POST', '/v1/uploads', payload)
end

-- A batch: with `since` (a cursor the bridge gave) only the items changed since, and the
-- totals over all of them either way.
function AihdBridge:batch(batch_id, since)
  return self:call('GET', '/v1/batches/' .. batch_id .. (since and ('?since=' .. string.format('%.0f', since)) or ''))
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

-- What changed for `client` since `cursor`: { cursor, more, items }.
function AihdBridge:changes(client, cursor, limit)
  return self:call('GET', string.format('/v1/changes?client=%s&since=%.0f&limit=%d', escape(client),
                                        cursor or 0, limit or 500))
end

-- The spaces and widgets the API offers for `service` (the bridge reads and caches the API's
-- catalog): { service, space_required, spaces, widgets = { [space name or ""] = {...} } }.
function AihdBridge:catalog(service)
  return self:call('GET', '/v1/catalog?service=' .. escape(service))
end

-- A one-time link to the status page: { url, expires_in }. Only a link to the bridge itself
-- is believed (it goes to the browser).
function AihdBridge:status_page_link()
  local answer, err = self:call('POST', '/v1/session-code', {})
  if not answer then return nil, err end
  if type(answer.url) ~= 'string' or answer.url:sub(1, #self.url + 1) ~= self.url .. '/' then
    return nil, 'The bridge answered with a link elsewhere: ' .. tostring(answer.url)
  end
  return answer
end

return AihdBridge
