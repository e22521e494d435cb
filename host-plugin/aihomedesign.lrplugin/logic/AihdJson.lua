--[[ JSON for the plugin: dkjson 2.6 (David Kolf, MIT; dkjson.lua beside this file, as Debian's
lua-dkjson ships it), with two choices of ours. JSON null decodes to nil (an absent key); a
broken text gives nil and a message, never an error. Numbers are written exactly: dkjson writes
them with tostring ("%.14g"), which loses digits from 10^14 on, so integers go out with "%.0f"
(never "%d": Lua 5.1 on 64-bit Windows takes it as a 32-bit long) and fractions with "%.17g".
A table whose keys are 1..n is an array, any other table an object (an empty one too);
`AihdJson.array(t)` marks an array that may be empty. ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local dkjson = need 'dkjson'

local AihdJson = {}

local ARRAY = { __jsontype = 'array' }
local OBJECT = { __jsontype = 'object' }
local MAX_DEPTH = 100

function AihdJson.array(t)
  return setmetatable(t, ARRAY)
end

local function exact(n)
  if n ~= n or n == math.huge or n == -math.huge then return n end  -- dkjson writes null
  local text = (n % 1 == 0 and math.abs(n) < 2^63) and string.format('%.0f', n) or string.format('%.17g', n)
  return setmetatable({}, { __tojson = function() return text end })
end

-- A copy of `value` that dkjson writes the way the header says.
local function prepare(value, depth)
  if depth > MAX_DEPTH then error('AihdJson: nesting too deep to encode', 0) end
  local kind = type(value)
  if kind == 'number' then return exact(value) end
  if kind ~= 'table' then return value end
  local copy = {}
  for k, v in pairs(value) do copy[k] = prepare(v, depth + 1) end
  if getmetatable(value) == ARRAY then return setmetatable(copy, ARRAY) end
  return next(copy) == nil and setmetatable(copy, OBJECT) or copy
end

function AihdJson.encode(value)
  local kind = type(value)
  if kind == 'function' or kind == 'userdata' or kind == 'thread' then
    error('AihdJson: cannot encode a ' .. kind, 0)
  end
  return dkjson.encode(prepare(value, 0))
end

function AihdJson.decode(text)
  if type(text) ~= 'string' then return nil, 'AihdJson: no text to decode' end
  local ok, value, pos, err = pcall(dkjson.decode, text, 1, nil)
  if not ok then return nil, 'AihdJson: ' .. tostring(value) end
  if err then return nil, 'AihdJson: ' .. err end
  if text:find('%S', pos) then return nil, 'AihdJson: unexpected text at ' .. pos end
  return value
end

return AihdJson
