--[[ Unit tests of the plugin's logic modules (logic/: no Lightroom, no network), under plain
lua5.1 with no `import` at all. usage: lua5.1 test_logic.lua <plugin dir>   — prints "N passed, N failed" ]]

local plugin_dir = arg[1]
local here = arg[0]:match('^(.*)/[^/]+$') or '.'
package.path = plugin_dir .. '/logic/?.lua;' .. here .. '/?.lua;' .. package.path

local cjson = require 'cjson'
local AihdJson = require 'AihdJson'
local AihdBridge = require 'AihdBridge'
local AihdProgress = require 'AihdProgress'
local AihdTagging = require 'AihdTagging'
local AihdExportJob = require 'AihdExportJob'
local AihdText = require 'AihdText'
local luatest = require 'luatest'
local test = luatest.test

local function same(a, b, path)
  path = path or 'value'
  if type(a) ~= type(b) then error(path .. ': ' .. tostring(a) .. ' ~= ' .. tostring(b), 0) end
  if type(a) ~= 'table' then
    if a ~= b then error(path .. ': ' .. tostring(a) .. ' ~= ' .. tostring(b), 0) end
    return
  end
  for k, v in pairs(a) do same(v, b[k], path .. '.' .. tostring(k)) end
  for k in pairs(b) do if a[k] == nil then error(path .. '.' .. tostring(k) .. ' missing', 0) end end
end

test('json round trip agrees with lua-cjson', function()
  local samples = {
    '{"a":1,"b":[true,false,"x"],"c":{"d":"\\u00e9\\n\\t\\"q\\""}}',
    '[1.5,-2,3e2,"\\ud83d\\ude00",[],{}]', '"plain"', '{"nested":[[[[1]]]]}',
  }
  for _, text in ipairs(samples) do
    local mine = assert(AihdJson.decode(text))
    same(mine, cjson.decode(text))
    same(cjson.decode(AihdJson.encode(mine)), cjson.decode(text))
  end
  math.randomseed(7)
  for _ = 1, 200 do
    local value = { n = math.random(-1e6, 1e6), s = string.char(math.random(32, 126), math.random(1, 31)),
                    list = { math.random(), 'x' }, flag = math.random() > 0.5 }
    same(cjson.decode(AihdJson.encode(value)), value)
  end
end)

test('json writes large numbers exactly, as lua-cjson reads them', function()
  local values = { 2^31, 2^31 + 1, 2^32, 2^53 - 1, -(2^53 - 1), 123456789012345, 1e15 + 7, 0.1, 1 / 3, -2.5e-300 }
  for _, n in ipairs(values) do
    local text = AihdJson.encode({ n = n })
    assert(cjson.decode(text).n == n, text)
  end
  assert(AihdJson.encode({ 2^53 - 1 }) == '[9007199254740991]', AihdJson.encode({ 2^53 - 1 }))
  assert(AihdJson.encode({ 2^31 }) == '[2147483648]')
  assert(cjson.decode(AihdJson.encode({ x = 0 / 0 })).x == cjson.null)
end)

test('json: empty tables are objects unless marked, and the input is left alone', function()
  assert(AihdJson.encode({}) == '{}' and AihdJson.encode(AihdJson.array({})) == '[]')
  local value = { items = AihdJson.array({ { id = 2^40 } }) }
  same(cjson.decode(AihdJson.encode(value)), { items = { { id = 2^40 } } })
  assert(type(value.items[1].id) == 'number')
  assert(not pcall(AihdJson.encode, { f = print }))
end)

test('text: cut on a UTF-8 boundary, under 512 bytes', function()
  local e_acute = '\195\169'
  assert(AihdText.cut('a' .. e_acute, 2) == 'a')
  assert(AihdText.bound(string.rep(e_acute, 300)):sub(-3) == '\226\128\166')
  for n = 505, 520 do
    local s = string.rep('x', n % 3) .. string.rep('\226\130\172', 200)  -- euro signs
    local b = AihdText.bound(s)
    assert(#b <= 511 and not b:find('[\128-\191]\226\128\166$') or b:sub(-6, -4) == '\226\130\172', n)
    assert(b:gsub('\226\130\172', ''):gsub('\226\128\166', ''):gsub('x', '') == '', 'cut inside a character')
  end
  assert(AihdText.bound('short') == 'short')
end)

test('tagging: every value fits a searchable field, and the newest earlier orders stay', function()
  local history = {}
  for i = 1, 40 do history[i] = string.format('old-%02d (Day to dusk, 2026-01-01 10:00)', i) end
  local photo = { orderId = 'prev', service = 'service-day-to-dusk', uploadedAt = '2026-02-02 10:00',
                  orderHistory = table.concat(history, '; ') }
  local writes = AihdTagging.plan({ ['1'] = photo, ['2'] = {} }, {
    ['1'] = { state = 'done', order_id = 'new', service_name = 'service-item-removal' },
    ['2'] = { state = 'failed', error = string.rep('\195\169', 400) },
  }, function(p, f) return p[f] end, { now = 'N' })
  local h = writes[1].fields.orderHistory
  assert(#h <= 511 and h:find('^prev %(Day to dusk, 2026%-02%-02 10:00%); old%-01 '), h)
  assert(h:sub(-3) == '\226\128\166')
  assert(#writes[2].fields.status <= 511)
  local again = AihdTagging.plan({ ['1'] = { orderId = 'new', service = 's', orderHistory = h } },
    { ['1'] = { state = 'done', order_id = 'newer', service_name = 's' } }, function(p, f) return p[f] end, { now = 'N' })
  assert(#again[1].fields.orderHistory <= 511 and select(2, again[1].fields.orderHistory:gsub('\226\128\166', '')) == 1)
end)

test('json rejects broken text with a message, never an error', function()
  -- (dkjson lets a missing colon pass: '{"a" 1}' reads as {a = 1})
  for _, text in ipairs({ '', '{', '[1,', '"open', 'nul', '{"a":1}x', string.rep('[', 500), '{"a":}' }) do
    local value, message = AihdJson.decode(text)
    assert(value == nil and type(message) == 'string', text)
  end
  assert(AihdJson.decode('null') == nil)
end)

test('data dir follows AIHD_HOME, then the platform', function()
  local function env(vars, os_name)
    return { getenv = function(k) return vars[k] end, home = '/home/ann',
             windows = os_name == 'win', mac = os_name == 'mac' }
  end
  assert(AihdBridge.data_dir(env({ AIHD_HOME = '/x' })) == '/x')
  assert(AihdBridge.data_dir(env({})) == '/home/ann/.local/share/aihd-bridge')
  assert(AihdBridge.data_dir(env({ XDG_DATA_HOME = '/d' })) == '/d/aihd-bridge')
  assert(AihdBridge.data_dir(env({}, 'mac')) == '/home/ann/Library/Application Support/aihd-bridge')
  assert(AihdBridge.data_dir(env({ LOCALAPPDATA = 'C:\\Users\\ann\\AppData\\Local' }, 'win'))
         == 'C:\\Users\\ann\\AppData\\Local\\aihd-bridge')
  assert(AihdBridge.data_dir(env({ AIHD_HOME = '/x' }), '/pref') == '/pref')
end)

test('sha256 and hmac-sha256 match the FIPS 180-4 and RFC 4231 vectors', function()
  local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
  assert(hex(AihdBridge.sha256('abc')) == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert(hex(AihdBridge.sha256('')) == 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  assert(hex(AihdBridge.sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))
         == '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
  assert(AihdBridge.hmac_sha256_hex(string.rep('\11', 20), 'Hi There')
         == 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7')
  assert(AihdBridge.hmac_sha256_hex('Jefe', 'what do ya want for nothing?')
         == '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
  assert(AihdBridge.hmac_sha256_hex(string.rep('\170', 131), 'Test Using Larger Than Block-Size Key - Hash Key First')
         == '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54')
end)

test('connect sends the token only to a peer that proved it holds it', function()
  local token = 'tok-' .. string.rep('z', 40)
  local env = { read_file = function() return AihdJson.encode({ url = 'http://127.0.0.1:9', token = token }) end }
  local function peer(answer)
    local seen = {}
    return seen, { request = function(_, url, _, headers)
      seen[#seen + 1] = { url = url, auth = headers.Authorization }
      return answer(url:match('nonce=([%w_-]+)'))
    end }
  end
  local good_seen, good = peer(function(n)
    if not n then return 200, '{"status": "ok"}' end  -- any call after the proof
    return 200, AihdJson.encode({ pid = 4242, proof = AihdBridge.hmac_sha256_hex(token, 'aihd-bridge identity ' .. n .. ' 4242') })
  end)
  local bridge = assert(AihdBridge.connect(env, good, '/d'))
  assert(good_seen[1].auth == nil and #good_seen[1].url:match('nonce=(.*)') == 32)
  bridge:health()
  assert(good_seen[2].auth == 'Bearer ' .. token)
  local cases = {
    { function() return 200, '{"order_id": "made-up", "pid": 4242, "proof": "00"}' end, AihdBridge.STRANGER },
    { function(n)
        local forged = AihdBridge.hmac_sha256_hex('other', 'aihd-bridge identity ' .. n .. ' 1')
        return 200, AihdJson.encode({ pid = 1, proof = forged })
      end, AihdBridge.STRANGER },
    { function() return 404, 'not here' end, AihdBridge.STRANGER },
    { function() return 401, '{"error": "missing or wrong token"}' end, AihdBridge.TOO_OLD },
    { function() return nil, nil, 'cannotConnectToHost' end, AihdBridge.NOT_RUNNING .. ' (cannotConnectToHost)' },
  }
  for i, case in ipairs(cases) do
    local seen, http = peer(case[1])
    local client, why = AihdBridge.connect(env, http, '/d')
    assert(client == nil and why == case[2], i .. ': ' .. tostring(why))
    assert(#seen == 1 and seen[1].auth == nil and not seen[1].url:find(token, 1, true), i)
  end
end)

test('progress: rendering is the first half, uploading the second', function()
  local p, caption = AihdProgress.describe(4, 2, nil, 0)
  assert(p == 0.25 and caption == 'Preparing photo 3 of 4', caption)
  local batch = { items = {
    { state = 'done', size = 100, bytes_sent = 100 }, { state = 'uploading', size = 100, bytes_sent = 50 },
    { state = 'queued', size = 100, bytes_sent = 0, waiting_until = 1060 }, { state = 'failed', size = 100 } } }
  p, caption = AihdProgress.describe(4, 4, batch, 1000)
  assert(math.abs(p - (0.5 + 0.5 * 250 / 400)) < 1e-9, p)
  assert(caption:find('slow down: next try in 60 s'), caption)
  caption = select(2, AihdProgress.describe(4, 4, batch, 2000))
  assert(caption == 'Sending to AI HomeDesign: 2 of 4 done', caption)
end)

test('tagging matches by source id and keeps earlier orders', function()
  local a, b, c = { name = 'a' }, { name = 'b', orderId = 'old-1', service = 'service-day-to-dusk',
                                    uploadedAt = '2026-01-01 10:00' }, { name = 'c' }
  local photos = { ['11'] = a, ['22'] = b, ['33'] = c }
  local results = {
    ['22'] = { state = 'done', order_id = 'new-2', service_name = 'service-item-removal' },
    ['11'] = { state = 'done', order_id = 'new-1', service_name = 'service-day-to-dusk' },
    ['33'] = { state = 'failed', error = 'c.jpg: is empty' },
  }
  local writes = AihdTagging.plan(photos, results, function(photo, field) return photo[field] end,
                                  { add_keyword = true, now = 'NOW' })
  assert(#writes == 3)
  assert(writes[1].photo == a and writes[1].fields.orderId == 'new-1')
  assert(writes[2].photo == b and writes[2].fields.orderId == 'new-2')
  assert(writes[2].fields.orderHistory == 'old-1 (Day to dusk, 2026-01-01 10:00)', writes[2].fields.orderHistory)
  same(writes[2].keyword, { 'AI HomeDesign', 'Item removal', 'new-2' })
  assert(writes[3].fields.status == 'Failed: c.jpg: is empty' and writes[3].fields.orderId == nil)
end)

test('the same order id again adds no history', function()
  local photo = { orderId = 'same', service = 'service-day-to-dusk' }
  local writes = AihdTagging.plan({ ['1'] = photo }, { ['1'] = { state = 'done', order_id = 'same',
    service_name = 'service-day-to-dusk' } }, function(p, f) return p[f] end, { now = 'N' })
  assert(writes[1].fields.orderHistory == nil and writes[1].keyword == nil)
end)

test('export job: a render failure and a refused photo fail alone', function()
  local handed = {}
  local bridge = {
    hand_over = function(_, items, _, batch_id)
      handed[#handed + 1] = batch_id or 'new'
      local state = items[1].source_id == 'bad' and 'failed' or 'queued'
      return { batch_id = 'b1', items = { { id = 'i-' .. items[1].source_id, state = state, error = 'bad.jpg: is empty' } } }
    end,
    batch = function() return { items = { { id = 'i-ok', state = 'done', order_id = 'o-1' },
                                           { id = 'i-bad', state = 'failed', error = 'bad.jpg: is empty' } } } end,
    cancel = function() end,
  }
  local job = AihdExportJob.new {
    bridge = bridge, total = 3, fields = {}, log = function() end, sleep = function() end,
    now = function() return 0 end, progress = { set = function() end, canceled = function() return false end },
  }
  assert(job:hand_over('ok', function() return true, '/tmp/ok.jpg' end) == nil)
  -- what fails at once is said at once, for Lightroom's list while the render loop runs
  assert(job:hand_over('bad', function() return true, '/tmp/bad.jpg' end) == 'bad.jpg: is empty')
  assert(job:hand_over('norender', function() return false, 'disk full' end):find('disk full'))
  local results, batch_id = job:finish()
  assert(batch_id == 'b1' and handed[1] == 'new' and handed[2] == 'b1')  -- one export, one batch
  assert(results.ok.order_id == 'o-1')
  assert(results.bad.state == 'failed' and results.bad.error == 'bad.jpg: is empty')
  assert(results.norender.error:find('could not render it: disk full'))
end)

test('export job: a silent bridge fails the photos it holds, with a reason', function()
  local clock = 0
  local bridge = {
    hand_over = function(_, items) return { batch_id = 'b1', items = { { id = 'i-' .. items[1].source_id, state = 'queued' } } } end,
    batch = function() return nil, 'connection refused' end,
    cancel = function() end,
  }
  local job = AihdExportJob.new {
    bridge = bridge, total = 1, fields = {}, log = function() end,
    progress = { set = function() end, canceled = function() return false end },
    sleep = function(s) clock = clock + s end, now = function() return clock end, patience = 10,
  }
  job:hand_over('p1', function() return true, '/tmp/x.jpg' end)
  local results = job:finish()
  assert(results.p1.state == 'failed' and results.p1.error:find('stopped answering'), results.p1.error)
end)

luatest.finish()
