--[[ SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain Lua 5.1, checked against their
published test vectors in test_logic.lua. LrDigest offers HMAC only in recent Lightroom Classic
releases, this plugin runs from Lightroom 6, and Lua 5.1 has no bit operations, so they are done
with arithmetic on 4-bit pieces. Used for the bridge's identity proof (a few hundred bytes per
connection) and the catalog's identity (a hash of its path). ]]

local AihdDigest = {}

local MOD = 4294967296
local XOR, AND = {}, {}
for x = 0, 15 do
  for y = 0, 15 do
    local rx, ra, a, b, bit = 0, 0, x, y, 1
    for _ = 1, 4 do
      local p, q = a % 2, b % 2
      if p ~= q then rx = rx + bit end
      if p + q == 2 then ra = ra + bit end
      a, b, bit = (a - p) / 2, (b - q) / 2, bit * 2
    end
    XOR[x * 16 + y + 1], AND[x * 16 + y + 1] = rx, ra
  end
end

local function nibblewise(tbl)
  return function(a, b)
    local r, place = 0, 1
    for _ = 1, 8 do
      local x, y = a % 16, b % 16
      r = r + tbl[x * 16 + y + 1] * place
      a, b, place = (a - x) / 16, (b - y) / 16, place * 16
    end
    return r
  end
end
local bxor, band = nibblewise(XOR), nibblewise(AND)

local function rrot(x, n)
  local low = x % 2 ^ n
  return (x - low) / 2 ^ n + low * 2 ^ (32 - n)
end

local function shr(x, n)
  return (x - x % 2 ^ n) / 2 ^ n
end

local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local H0 = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }

local function word_bytes(x)
  return string.char(math.floor(x / 16777216) % 256, math.floor(x / 65536) % 256,
                     math.floor(x / 256) % 256, x % 256)
end

-- The SHA-256 digest of a string, as 32 raw bytes.
function AihdDigest.sha256(message)
  local bits = #message * 8
  message = message .. '\128' .. string.rep('\0', (55 - #message) % 64)
    .. word_bytes(math.floor(bits / MOD)) .. word_bytes(bits % MOD)
  local hash = { unpack(H0) }
  local w = {}
  for chunk = 1, #message, 64 do
    for i = 0, 15 do
      local b1, b2, b3, b4 = message:byte(chunk + i * 4, chunk + i * 4 + 3)
      w[i] = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    end
    for i = 16, 63 do
      local x, y = w[i - 15], w[i - 2]
      local s0 = bxor(bxor(rrot(x, 7), rrot(x, 18)), shr(x, 3))
      local s1 = bxor(bxor(rrot(y, 17), rrot(y, 19)), shr(y, 10))
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % MOD
    end
    local a, b, c, d, e, f, g, h = unpack(hash)
    for i = 0, 63 do
      local s1 = bxor(bxor(rrot(e, 6), rrot(e, 11)), rrot(e, 25))
      local ch = bxor(band(e, f), band(MOD - 1 - e, g))
      local t1 = (h + s1 + ch + K[i + 1] + w[i]) % MOD
      local s0 = bxor(bxor(rrot(a, 2), rrot(a, 13)), rrot(a, 22))
      local maj = bxor(bxor(band(a, b), band(a, c)), band(b, c))
      h, g, f, e, d, c, b, a = g, f, e, (d + t1) % MOD, c, b, a, (t1 + s0 + maj) % MOD
    end
    local now = { a, b, c, d, e, f, g, h }
    for i = 1, 8 do hash[i] = (hash[i] + now[i]) % MOD end
  end
  local out = {}
  for i = 1, 8 do out[i] = word_bytes(hash[i]) end
  return table.concat(out)
end

-- HMAC-SHA256 (RFC 2104) of `message` under `key`, in lower-case hex.
function AihdDigest.hmac_sha256_hex(key, message)
  if #key > 64 then key = AihdDigest.sha256(key) end
  key = key .. string.rep('\0', 64 - #key)
  local inner, outer = {}, {}
  for i = 1, 64 do
    inner[i] = string.char(bxor(key:byte(i), 0x36))
    outer[i] = string.char(bxor(key:byte(i), 0x5c))
  end
  local digest = AihdDigest.sha256(table.concat(outer)
    .. AihdDigest.sha256(table.concat(inner) .. message))
  return AihdDigest.hex(digest)
end

-- Lower-case hex of a string of bytes.
function AihdDigest.hex(bytes)
  return (bytes:gsub('.', function(c) return string.format('%02x', c:byte()) end))
end

return AihdDigest
