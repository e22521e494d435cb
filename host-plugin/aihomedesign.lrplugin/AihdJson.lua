--[[ A small JSON encoder/decoder for Lua 5.1 (Lightroom ships none).
Objects decode to tables; JSON null decodes to nil (absent key). Encoding: a table whose keys
are 1..n is an array, any other table an object; `AihdJson.array({})` forces an empty array. ]]

local AihdJson = {}

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local array_mark = setmetatable({}, { __mode = 'k' })

function AihdJson.array(t)
  array_mark[t] = true
  return t
end

local function is_array(t)
  if array_mark[t] then return true end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= 'number' or k < 1 or k % 1 ~= 0 then return false end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return n > 0
end

local encode

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format('\\u%04x', c:byte())
  end) .. '"'
end

encode = function(value, depth)
  depth = depth or 0
  if depth > 100 then error('AihdJson: nesting too deep to encode') end
  local kind = type(value)
  if kind == 'nil' then return 'null' end
  if kind == 'boolean' then return tostring(value) end
  if kind == 'number' then
    if value ~= value or value == math.huge or value == -math.huge then return 'null' end
    if value % 1 == 0 and math.abs(value) < 2^53 then return string.format('%d', value) end
    return string.format('%.17g', value)
  end
  if kind == 'string' then return encode_string(value) end
  if kind == 'table' then
    local out = {}
    if is_array(value) then
      for i = 1, #value do out[i] = encode(value[i], depth + 1) end
      return '[' .. table.concat(out, ',') .. ']'
    end
    local keys = {}
    for k in pairs(value) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = value[k]
      if v == nil then v = value[tonumber(k)] end
      out[#out + 1] = encode_string(k) .. ':' .. encode(v, depth + 1)
    end
    return '{' .. table.concat(out, ',') .. '}'
  end
  error('AihdJson: cannot encode a ' .. kind)
end

function AihdJson.encode(value)
  return encode(value, 0)
end

-- Decoding ----------------------------------------------------------------------------------

local function utf8_char(code)
  if code < 0x80 then return string.char(code) end
  if code < 0x800 then
    return string.char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40)
  end
  if code < 0x10000 then
    return string.char(0xE0 + math.floor(code / 0x1000), 0x80 + math.floor(code / 0x40) % 0x40,
                       0x80 + code % 0x40)
  end
  return string.char(0xF0 + math.floor(code / 0x40000), 0x80 + math.floor(code / 0x1000) % 0x40,
                     0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
end

local Decoder = {}
Decoder.__index = Decoder

function Decoder:fail(what)
  error({ aihd_json = true, message = string.format('invalid JSON at character %d: %s', self.pos, what) })
end

function Decoder:space()
  self.pos = self.text:find('[^ \t\r\n]', self.pos) or #self.text + 1
end

function Decoder:value(depth)
  if depth > 200 then self:fail('nesting too deep') end
  self:space()
  local c = self.text:sub(self.pos, self.pos)
  if c == '{' then return self:object(depth) end
  if c == '[' then return self:list(depth) end
  if c == '"' then return self:string() end
  for word, v in pairs({ ['true'] = true, ['false'] = false }) do
    if self.text:sub(self.pos, self.pos + #word - 1) == word then
      self.pos = self.pos + #word
      return v
    end
  end
  if self.text:sub(self.pos, self.pos + 3) == 'null' then
    self.pos = self.pos + 4
    return nil
  end
  local num = self.text:match('^-?%d+%.?%d*[eE]?[-+]?%d*', self.pos)
  if num and num ~= '' and num ~= '-' then
    self.pos = self.pos + #num
    return tonumber(num) or self:fail('bad number')
  end
  self:fail('unexpected ' .. (c == '' and 'end' or ("'" .. c .. "'")))
end

function Decoder:string()
  local parts, i = {}, self.pos + 1
  while true do
    local j = self.text:find('["\\]', i)
    if not j then self:fail('unterminated string') end
    parts[#parts + 1] = self.text:sub(i, j - 1)
    if self.text:sub(j, j) == '"' then
      self.pos = j + 1
      return table.concat(parts)
    end
    local e = self.text:sub(j + 1, j + 1)
    if e == 'u' then
      local code = tonumber(self.text:sub(j + 2, j + 5), 16) or self:fail('bad \\u escape')
      i = j + 6
      if code >= 0xD800 and code <= 0xDBFF and self.text:sub(i, i + 1) == '\\u' then
        local low = tonumber(self.text:sub(i + 2, i + 5), 16)
        if low and low >= 0xDC00 and low <= 0xDFFF then
          code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
          i = i + 6
        end
      end
      parts[#parts + 1] = utf8_char(code)
    else
      local map = { b = '\b', f = '\f', n = '\n', r = '\r', t = '\t', ['"'] = '"', ['\\'] = '\\', ['/'] = '/' }
      parts[#parts + 1] = map[e] or self:fail('bad escape')
      i = j + 2
    end
  end
end

function Decoder:list(depth)
  local out, n = AihdJson.array({}), 0
  self.pos = self.pos + 1
  self:space()
  if self.text:sub(self.pos, self.pos) == ']' then
    self.pos = self.pos + 1
    return out
  end
  while true do
    n = n + 1
    out[n] = self:value(depth + 1)
    self:space()
    local c = self.text:sub(self.pos, self.pos)
    self.pos = self.pos + 1
    if c == ']' then return out end
    if c ~= ',' then self:fail("expected ',' or ']'") end
  end
end

function Decoder:object(depth)
  local out = {}
  self.pos = self.pos + 1
  self:space()
  if self.text:sub(self.pos, self.pos) == '}' then
    self.pos = self.pos + 1
    return out
  end
  while true do
    self:space()
    if self.text:sub(self.pos, self.pos) ~= '"' then self:fail('expected a key') end
    local key = self:string()
    self:space()
    if self.text:sub(self.pos, self.pos) ~= ':' then self:fail("expected ':'") end
    self.pos = self.pos + 1
    out[key] = self:value(depth + 1)
    self:space()
    local c = self.text:sub(self.pos, self.pos)
    self.pos = self.pos + 1
    if c == '}' then return out end
    if c ~= ',' then self:fail("expected ',' or '}'") end
  end
end

-- Returns the value, or nil and a message: callers never see a Lua error for bad input.
function AihdJson.decode(text)
  if type(text) ~= 'string' then return nil, 'no JSON text' end
  local decoder = setmetatable({ text = text, pos = 1 }, Decoder)
  local ok, result = pcall(function()
    local v = decoder:value(0)
    decoder:space()
    if decoder.pos <= #text then decoder:fail('trailing characters') end
    return v
  end)
  if ok then return result end
  if type(result) == 'table' and result.aihd_json then return nil, result.message end
  return nil, tostring(result)
end

return AihdJson
