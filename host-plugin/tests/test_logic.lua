--[[ Unit tests of the plugin's logic modules (logic/: no Lightroom, no network), under plain
lua5.1 with no `import` at all. usage: lua5.1 test_logic.lua <plugin dir>   — prints "N passed, N failed" ]]

local plugin_dir = arg[1]
local here = arg[0]:match('^(.*)/[^/]+$') or '.'
package.path = plugin_dir .. '/logic/?.lua;' .. here .. '/?.lua;' .. package.path

local cjson = require 'cjson'
local AihdJson = require 'AihdJson'
local AihdBridge = require 'AihdBridge'
local AihdDigest = require 'AihdDigest'
local AihdProgress = require 'AihdProgress'
local AihdTagging = require 'AihdTagging'
local AihdExportJob = require 'AihdExportJob'
local AihdText = require 'AihdText'
local AihdCatalog = require 'AihdCatalog'
local AihdCatchUp = require 'AihdCatchUp'
local AihdOrder = require 'AihdOrder'
local AihdLaunch = require 'AihdLaunch'
local AihdProperty = require 'AihdProperty'
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
  -- Windows: os.getenv answers in the ANSI code page. A UTF-8 AIHD_HOME is kept; one in
  -- Windows-1252 (or with '?' for a letter the code page lacks) is said, not passed over.
  assert(AihdBridge.data_dir(env({ AIHD_HOME = 'C:\\Users\\Jos\195\169\\aihd' }, 'win')) == 'C:\\Users\\Jos\195\169\\aihd')
  for _, ansi in ipairs({ 'C:\\Users\\Jos\233\\aihd', 'C:\\Users\\Jos?\\aihd' }) do
    local dir, why = AihdBridge.data_dir(env({ AIHD_HOME = ansi }, 'win'))
    assert(dir == nil and why:find('Use another data folder', 1, true), tostring(why))
  end
  assert(AihdBridge.data_dir(env({ LOCALAPPDATA = 'C:\\Users\\Jos\233\\AppData\\Local' }, 'win'))
         == env({}, 'win').home .. '\\AppData\\Local\\aihd-bridge')
end)

test('sha256 and hmac-sha256 match the FIPS 180-4 and RFC 4231 vectors', function()
  local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
  assert(hex(AihdDigest.sha256('abc')) == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert(hex(AihdDigest.sha256('')) == 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  assert(hex(AihdDigest.sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))
         == '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
  assert(AihdDigest.hmac_sha256_hex(string.rep('\11', 20), 'Hi There')
         == 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7')
  assert(AihdDigest.hmac_sha256_hex('Jefe', 'what do ya want for nothing?')
         == '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
  assert(AihdDigest.hmac_sha256_hex(string.rep('\170', 131), 'Test Using Larger Than Block-Size Key - Hash Key First')
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
    return 200, AihdJson.encode({ pid = 4242, proof = AihdDigest.hmac_sha256_hex(token, 'aihd-bridge identity ' .. n .. ' 4242') })
  end)
  local bridge = assert(AihdBridge.connect(env, good, '/d'))
  assert(good_seen[1].auth == nil and #good_seen[1].url:match('nonce=(.*)') == 32)
  bridge:health()
  assert(good_seen[2].auth == 'Bearer ' .. token)
  local cases = {
    { function() return 200, '{"order_id": "made-up", "pid": 4242, "proof": "00"}' end, AihdBridge.STRANGER },
    { function(n)
        local forged = AihdDigest.hmac_sha256_hex('other', 'aihd-bridge identity ' .. n .. ' 1')
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

test('progress: rendering is the first half, uploading the second, from the batch totals', function()
  local clock = function(t) return os.date('!%H:%M', t) end
  local p, caption = AihdProgress.describe(4, 2, nil, clock)
  assert(p == 0.25 and caption == 'Preparing photo 3 of 4', caption)
  local batch = { total = 4, counts = { done = 1, failed = 1, queued = 1, uploading = 1 }, bytes_total = 400,
                  bytes_sent = 250, items = {}, remote = { state = 'ok' } }
  p, caption = AihdProgress.describe(4, 4, batch, clock)
  assert(math.abs(p - (0.5 + 0.5 * 250 / 400)) < 1e-9, p)
  assert(caption == 'Sending to AI HomeDesign: 2 of 4 done', caption)
  -- half the export handed over so far: its bytes count for half
  batch.total = 2
  p = AihdProgress.describe(4, 4, batch, clock)
  assert(math.abs(p - (0.5 + 0.5 * 250 / 400 / 2)) < 1e-9, p)
end)

test('progress: the caption says in words when the API is away, and until when', function()
  local clock = function(t) return os.date('!%H:%M', t) end
  local batch = { total = 3, counts = { done = 1, queued = 2 }, bytes_total = 3, bytes_sent = 1,
                  remote = { state = 'unreachable', since = 14 * 3600 + 2 * 60, next_try = 14 * 3600 + 200 } }
  local caption = select(2, AihdProgress.describe(3, 3, batch, clock))
  assert(caption == 'Waiting for the network since 14:02; the photos are safe in the bridge. 1 of 3 done.', caption)
  batch.remote = { state = 'rate_limited', since = 9 * 3600, next_try = 9 * 3600 + 65 }
  caption = select(2, AihdProgress.describe(3, 3, batch, clock))
  assert(caption == 'AI HomeDesign asked the bridge to slow down since 09:00; next try at 09:01; '
    .. 'the photos are safe in the bridge. 1 of 3 done.', caption)
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

-- A bridge that keeps a batch as the real one does, for the export job.
local function fake_bridge(options)
  options = options or {}
  local bridge = { handed = {}, polls = {}, items = {}, order = {}, seq = 0, remote = { state = 'ok' } }
  local function touch(item)
    bridge.seq = bridge.seq + 1
    item.seq = bridge.seq
  end
  function bridge.hand_over(_, items, _, client, batch_id)
    bridge.handed[#bridge.handed + 1] = { n = #items, batch_id = batch_id or 'new', client = client }
    local answer = { batch_id = 'b1', items = {} }
    for _, handed in ipairs(items) do
      local bad = handed.source_id:find('bad')
      local item = { id = 'i-' .. handed.source_id, source_id = handed.source_id, state = bad and 'failed' or 'queued',
                     error = bad and (handed.source_id .. '.jpg: is empty') or nil, size = 10 }
      touch(item)
      bridge.items[item.id] = item
      bridge.order[#bridge.order + 1] = item
      answer.items[#answer.items + 1] = item
    end
    return answer
  end
  function bridge.batch(_, _, since)
    bridge.polls[#bridge.polls + 1] = since or 'all'
    if options.silent then return nil, 'connection refused', true end
    if not options.stuck then
      for _, item in ipairs(bridge.order) do
        if item.state == 'queued' then
          item.state, item.order_id = 'done', 'o-' .. item.source_id
          touch(item)
          break
        end
      end
    end
    local answer = { cursor = bridge.seq, items = {}, counts = {}, total = #bridge.order, bytes_total = 0,
                     bytes_sent = 0, remote = bridge.remote, finished = true }
    for _, item in ipairs(bridge.order) do
      if since == nil or item.seq > since then answer.items[#answer.items + 1] = item end
      answer.counts[item.state] = (answer.counts[item.state] or 0) + 1
      if not AihdProgress.is_final(item.state) then answer.finished = false end
    end
    return answer
  end
  function bridge.cancel() end
  return bridge
end

local function job_with(bridge, total, extra)
  local clock = 0
  local deps = {
    bridge = bridge, client = 'lightroom:c1', total = total, fields = {}, log = function() end,
    sleep = function(s) clock = clock + s end, now = function() return clock end,
    clock = function(t) return tostring(t) end,
    progress = { set = function() end, canceled = function() return false end },
  }
  for k, v in pairs(extra or {}) do deps[k] = v end
  return AihdExportJob.new(deps)
end

test('export job: a render failure and a refused photo fail alone', function()
  local bridge = fake_bridge()
  local job = job_with(bridge, 3, { group = 1 })
  same(job:hand_over('ok', function() return true, '/tmp/ok.jpg' end), {})
  -- what fails at once is said at once, for Lightroom's list while the render loop runs
  same(job:hand_over('bad', function() return true, '/tmp/bad.jpg' end), { { source_id = 'bad', error = 'bad.jpg: is empty' } })
  local failures = job:hand_over('norender', function() return false, 'disk full' end)
  assert(#failures == 1 and failures[1].error:find('could not render it: disk full'))
  local results, batch_id = job:finish()
  assert(batch_id == 'b1' and bridge.handed[1].batch_id == 'new' and bridge.handed[2].batch_id == 'b1')
  assert(bridge.handed[1].client == 'lightroom:c1')
  assert(results.ok.order_id == 'o-ok')
  assert(results.bad.state == 'failed' and results.bad.error == 'bad.jpg: is empty')
  assert(results.norender.error:find('could not render it: disk full'))
end)

test('export job: several photos per hand-over, each poll with the cursor after the first', function()
  -- the clock stands still: every photo is rendered within the same second
  local bridge = fake_bridge()
  local job = job_with(bridge, 25, { group = 10 })
  for n = 1, 25 do
    local failures = job:hand_over('p' .. n, function() return true, '/tmp/p' .. n .. '.jpg' end)
    assert(#failures == 0)
  end
  local sizes = {}
  for i, h in ipairs(bridge.handed) do sizes[i] = h.n end
  same(sizes, { 1, 10, 10, 4 })  -- the first at once; the others as they come within a second
  local results = job:finish()
  for n = 1, 25 do assert(results['p' .. n].order_id == 'o-p' .. n, n) end
  assert(bridge.polls[1] == 'all')
  for i = 2, #bridge.polls do assert(type(bridge.polls[i]) == 'number', i) end
end)

test('export job: a silent or stuck bridge fails no photo; the wait ends at its limit', function()
  for _, options in ipairs({ { silent = true }, { stuck = true } }) do
    local bridge = fake_bridge(options)
    local job = job_with(bridge, 2, { wait_limit = 30 })
    job:hand_over('p1', function() return true, '/tmp/p1.jpg' end)
    job:hand_over('p2', function() return true, '/tmp/p2.jpg' end)
    local results = job:finish()
    assert(job.timed_out and job.deps.now() >= 30 and job.deps.now() < 35)
    assert(results.p1.state == 'waiting' and results.p2.state == 'waiting', results.p1.state)
  end
end)

test('catalog: source ids of two catalogs never meet; bare ids are read back as legacy only', function()
  local a, b = AihdCatalog.id('/Users/x/Pictures/Lightroom/Lightroom Catalog.lrcat'), AihdCatalog.id('/Volumes/Work/Work.lrcat')
  assert(#a == 16 and a:match('^%x+$') and a ~= b)
  assert(a == AihdCatalog.id('/Users/x/Pictures/Lightroom/Lightroom Catalog.lrcat'))  -- stable
  assert(AihdCatalog.client(a) == 'lightroom:' .. a)
  local sid = AihdCatalog.source_id(a, 1234)
  assert(sid == a .. ':1234' and sid ~= AihdCatalog.source_id(b, 1234))
  assert(AihdCatalog.local_id(a, sid) == '1234' and AihdCatalog.local_id(b, sid) == nil)
  assert(AihdCatalog.local_id(a, '1234') == nil and AihdCatalog.local_id(a, '1234', true) == '1234')
  same(AihdCatalog.known_ids(a, 1234), { sid, '1234' })
  -- With the photo's uuid, which a copy of the catalog keeps: the local id and the uuid back.
  local full = AihdCatalog.source_id(a, 1234, 'AB-CD')
  assert(full == a .. ':1234:AB-CD')
  local local_id, uuid = AihdCatalog.local_id(a, full)
  assert(local_id == '1234' and uuid == 'AB-CD' and AihdCatalog.local_id(b, full) == nil)
  same(AihdCatalog.known_ids(a, 1234, 'AB-CD'), { full, sid, '1234' })
  assert(AihdCatalog.valid_id(a) and not AihdCatalog.valid_id('x') and not AihdCatalog.valid_id(nil))
  -- The files Lightroom's upgrades came from, nearest first.
  same(AihdCatalog.earlier_paths('/P/Lightroom Catalog-v10-v13.lrcat'),
       { '/P/Lightroom Catalog-v10.lrcat', '/P/Lightroom Catalog.lrcat' })
  same(AihdCatalog.earlier_paths('C:\\P\\Studio-v13.LRCAT'), { 'C:\\P\\Studio.LRCAT' })
  same(AihdCatalog.earlier_paths('/P/Studio.lrcat'), {})
end)

-- A bridge's change feed over a list of items, as GET /v1/changes answers it.
local function feed_bridge(items)
  local bridge = { calls = {} }
  function bridge.changes(_, client, since, limit)
    bridge.calls[#bridge.calls + 1] = { client = client, since = since }
    local page = {}
    for _, item in ipairs(items) do
      if item.seq > since and #page < limit + 1 then page[#page + 1] = item end
    end
    local more = #page > limit
    if more then page[#page] = nil end
    return { cursor = #page > 0 and page[#page].seq or since, more = more, items = page }
  end
  return bridge
end

test('catch-up: one write per page, the cursor kept once written, nothing asked twice', function()
  local cat = AihdCatalog.id('/c.lrcat')
  local items, photos = {}, {}
  for n = 1, 7 do
    items[n] = { seq = n * 2, source_id = AihdCatalog.source_id(cat, n), state = 'done', order_id = 'o' .. n,
                 service_name = 'service-day-to-dusk', batch_id = 'b1' }
    photos[tostring(n)] = { id = n }
  end
  items[8] = { seq = 20, source_id = AihdCatalog.source_id(cat, 8), state = 'queued', batch_id = 'b2' }
  photos['8'] = { id = 8 }
  items[9] = { seq = 21, source_id = AihdCatalog.source_id('0000000000000000', 1), state = 'done', order_id = 'x' }
  local bridge, saved, writes, pending = feed_bridge(items), {}, {}, {}
  local stored = {}
  local deps = {
    bridge = bridge, client = AihdCatalog.client(cat), catalog_id = cat, cursor = nil, page = 3, pending = pending,
    save = function(c) saved[#saved + 1] = c end,
    find = function(wanted)
      local found = {}
      for _, want in ipairs(wanted) do found[want.local_id] = photos[want.local_id] end
      return found
    end,
    current = function(photo, field) return stored[photo] and stored[photo][field] end,
    write = function(plan)
      writes[#writes + 1] = #plan
      for _, w in ipairs(plan) do stored[w.photo] = w.fields end
      return true
    end,
    options = { now = 'NOW' },
  }
  local summary = assert(AihdCatchUp.sync(deps))
  same(writes, { 3, 3, 2 })  -- the other catalog's item (seq 21) is not this catalog's
  same(saved, { 6, 12, 21 })
  assert(summary.written == 8 and summary.cursor == 21 and summary.pages == 3)
  assert(stored[photos['1']].orderId == 'o1' and stored[photos['8']].status == AihdTagging.WAITING)
  same(pending, { b2 = true })
  -- the same cursor again: one small request, no write
  deps.cursor, writes, bridge.calls = 21, {}, {}
  summary = assert(AihdCatchUp.sync(deps))
  assert(#bridge.calls == 1 and bridge.calls[1].since == 21 and #writes == 0 and summary.items == 0)
  -- what was written already is not written again, from the start
  deps.cursor, deps.page = 0, 500
  summary = assert(AihdCatchUp.sync(deps))
  assert(#writes == 0 and summary.written == 0)
  -- a refused write keeps the cursor where it was
  stored, saved = {}, {}
  deps.write = function() return false, 'the catalog stayed busy' end
  local ok, why = AihdCatchUp.sync(deps)
  assert(ok == nil and why == 'the catalog stayed busy' and #saved == 0)
end)

test('catch-up: a reconcile gives each photo its latest order, never an older one over it', function()
  local cat = AihdCatalog.id('/c.lrcat')
  local photo = { id = 1 }
  local stored = { [photo] = { orderId = 'new', service = 'service-day-to-dusk', status = 'Ordered' } }
  local items = {  -- the same photo ordered twice: by plugin 0.2, then with its uuid; two pages
    { seq = 1, source_id = AihdCatalog.source_id(cat, 1), state = 'done', order_id = 'old',
      service_name = 'service-day-to-dusk' },
    { seq = 2, source_id = AihdCatalog.source_id(cat, 2), state = 'done', order_id = 'other',
      service_name = 'service-day-to-dusk' },
    { seq = 3, source_id = AihdCatalog.source_id(cat, 1, 'U-1'), state = 'done', order_id = 'new',
      service_name = 'service-day-to-dusk' },
  }
  local writes, saved, asked = {}, {}, {}
  local deps = {
    bridge = feed_bridge(items), client = AihdCatalog.client(cat), catalog_id = cat, page = 1, pending = {},
    reconcile = true, save = function(c) saved[#saved + 1] = c end,
    find = function(wanted)
      local found = {}
      for _, want in ipairs(wanted) do
        asked[#asked + 1] = want
        found[want.local_id] = want.local_id == '1' and photo or nil
      end
      return found
    end,
    current = function(p, field) return stored[p] and stored[p][field] end,
    write = function(plan) writes[#writes + 1] = plan return true end,
    options = { now = 'NOW' },
  }
  local summary = assert(AihdCatchUp.sync(deps))
  assert(#writes == 0 and summary.written == 0 and summary.pages == 3, 'an older order was replayed')
  same(saved, { 3 })  -- once, after every page was read
  assert(asked[1].local_id == '1' and asked[1].uuid == 'U-1', 'the photo is found by the uuid its latest order carries')
  -- Read page by page (a cursor), the same feed writes the old order first: what reconcile avoids.
  deps.reconcile, saved = nil, {}
  assert(AihdCatchUp.sync(deps))
  assert(#writes >= 1 and writes[1][1].fields.orderId == 'old')
end)

test('tagging: an order whose fields the person cleared is not written again', function()
  local photo = { id = 1 }
  local item = { state = 'done', order_id = 'o1', service_name = 'service-day-to-dusk', order_state = 'finished',
                 results = {} }
  local none = function() return nil end
  assert(#AihdTagging.plan({ s = photo }, { s = item }, none, { now = 'NOW', cleared = { o1 = true } }) == 0)
  assert(#AihdTagging.plan({ s = photo }, { s = item }, none, { now = 'NOW', cleared = { o2 = true } }) == 1)
end)

test('catch-up: pending batches end when the bridge says finished or no longer knows them', function()
  local bridge = { batch = function(_, id)
    if id == 'gone' then return nil, 'The bridge refused: no batch gone', false end
    if id == 'away' then return nil, 'not running', true end
    return { finished = id == 'done', items = {} }
  end }
  local pending = AihdCatchUp.ids_from('done gone away going')
  same(AihdCatchUp.ended(bridge, pending, 5), { 'done', 'gone' })
  assert(AihdCatchUp.ids_text(pending) == 'away done going gone')
end)

test('catch-up: a batch whose orders the bridge still follows stays pending, until they end', function()
  local cat = AihdCatalog.id('/c.lrcat')
  local item = { seq = 1, source_id = AihdCatalog.source_id(cat, 1), state = 'done', order_id = 'o1',
                 service_name = 'service-day-to-dusk', batch_id = 'b1', order_state = 'processing' }
  local pending = {}
  assert(AihdCatchUp.sync { bridge = feed_bridge({ item }), client = 'c', catalog_id = cat, pending = pending,
    save = function() end, find = function() return {} end, current = function() end,
    write = function() return true end, options = {} })
  same(pending, { b1 = true })
  local bridge = { batch = function(_, id)
    return { finished = true, orders_finished = id == 'ended', items = {} }
  end }
  same(AihdCatchUp.ended(bridge, { ended = true, submitted = true }, 0), { 'ended' })
end)

-- The bridge's GET /v1/catalog for virtual staging, as bridge/remote/catalog.py as_dict gives it.
local STAGING = {
  service = 'service-ai-virtual-staging', space_required = true,
  spaces = { { name = 'space-living-room', title = 'Living room' }, { name = 'space-bedroom', title = 'Bedroom' } },
  widgets = {
    ['space-living-room'] = {
      { id = 'w1', title = 'Style', is_optional = false,
        items = { { id = 'i1', title = 'Modern' }, { id = 'i2', title = 'Coastal' } } },
      { id = 'w2', title = 'Furniture', is_optional = true, items = { { id = 'i3', title = 'Full' } } },
    },
    ['space-bedroom'] = {
      { id = 'w1', title = 'Style', is_optional = false, items = { { id = 'i1', title = 'Modern' } } },
    },
  },
}

test('order: menus from the catalog, per space, and why the choice cannot be submitted', function()
  local menus = AihdOrder.menus(STAGING, nil)
  same(menus.spaces[2], { title = 'Bedroom', value = 'Bedroom', name = 'space-bedroom' })
  assert(menus.space == nil and #menus.widgets == 2, 'before a space is chosen, the first space\'s widgets')
  assert(AihdOrder.problem(menus, 'Virtual staging', '', {}):find('^Choose a space for Virtual staging'))
  menus = AihdOrder.menus(STAGING, ' BEDROOM ')
  assert(menus.space == 'Bedroom' and #menus.widgets == 1)
  assert(AihdOrder.problem(menus, 'Virtual staging', 'Bedroom', {})
         == 'Choose a Style: Virtual staging needs one to submit the order.')
  assert(AihdOrder.problem(menus, 'Virtual staging', 'Bedroom', { style = 'modern' }) == nil)
  assert(AihdOrder.problem(menus, 'Virtual staging', 'Bedroom', { Style = 'Baroque' })
         == "Style 'Baroque' is not offered; choose Modern.")
  assert(AihdOrder.problem(AihdOrder.menus(STAGING, 'Attic'), 'Virtual staging', 'Attic', {})
         == "Space 'Attic' is not offered for Virtual staging; choose Living room, Bedroom.")
  -- a widget the catalog says nothing about is optional: it never keeps Export disabled
  local quiet = AihdOrder.menus({ spaces = {}, widgets = { [''] = { { title = 'Sky', items = {} } } } }, '')
  assert(quiet.widgets[1].optional and AihdOrder.problem(quiet, 'Day to dusk', '', {}) == nil)
  local offered, unoffered = AihdOrder.offered(menus, { style = 'modern', ['Colour palette'] = 'Warm' })
  same(offered, { Style = 'Modern' })
  same(unoffered, {})
  offered, unoffered = AihdOrder.offered(menus, { style = 'Baroque' })
  same(offered, {})
  same(unoffered, { Style = 'Baroque' })
end)

test('order: the dialog\'s slots, and the widgets a preset keeps as text', function()
  local menus = AihdOrder.menus(STAGING, 'Living room')
  local view = AihdOrder.dialog(menus, 'Living room', { Style = 'Coastal', Sky = 'Blue hour' })
  assert(view.space_shown and #view.space_items == 3 and view.space == 'Living room')
  assert(view.slots[1].title == 'Style (required):' and view.slots[1].value == 'Coastal')
  assert(view.slots[2].title == 'Furniture:' and view.slots[2].value == '' and view.slots[2].items[1].title == '(none)')
  assert(view.slots[3].shown == false and #view.slots == AihdOrder.SLOTS and view.more == 0)
  local none = AihdOrder.dialog(nil, 'Bedroom', {})
  assert(not none.space_shown and none.space == 'Bedroom' and not none.slots[1].shown)
  same(AihdOrder.widgets_from(AihdOrder.widgets_text({ Style = 'Modern' })), { Style = 'Modern' })
  assert(AihdOrder.widgets_text({}) == '')
  same(AihdOrder.widgets_from('not json'), {})
  same(AihdOrder.widgets_from('{"Style": "", "Sky": 3, "Lights": "On"}'), { Lights = 'On' })
end)

test('order: what a hand-over asks, and the Status as the order goes on', function()
  same(AihdOrder.request(false, 'Bedroom', { Style = 'Modern' }), { submit = false })
  same(AihdOrder.request(true, 'Bedroom', { Style = 'Modern' }), { submit = true, space = 'Bedroom', widgets = { Style = 'Modern' } })
  same(AihdOrder.request(true, '', {}), { submit = true })
  local item = { state = 'done', order_id = 'o1', order_state = 'not_submitted' }
  local seen = {}
  for _, step in ipairs({ 'not_submitted', 'submitting', 'processing' }) do
    item.order_state = step
    seen[#seen + 1] = AihdOrder.status(item)
  end
  item.order_state, item.results = 'finished', { { path = '/r/a_1.jpg' }, { path = '/r/a_2.jpg' } }
  seen[#seen + 1] = AihdOrder.status(item)
  same(seen, { 'Ordered', 'Submitted', 'Processing', 'Finished (2 results)' })
  item.order_state, item.order_error = 'processing', 'cannot make the results folder /Volumes/Card/Shoot (No such file)'
  assert(AihdOrder.status(item) == 'Processing, ' .. item.order_error)
  item.order_state, item.order_error = 'failed', string.rep('\226\130\172', 300)  -- 900 bytes of euros
  local failed = AihdOrder.status(item)
  assert(failed:sub(1, 8) == 'Failed: ' and #failed <= 511 and #failed > 500)
end)

test('tagging: a finished order\'s results are brought in once, stacked on their source', function()
  local photo, stored = { id = 1 }, { orderId = 'o1', status = 'Processing', service = 'service-day-to-dusk' }
  local item = { state = 'done', order_id = 'o1', service_name = 'service-day-to-dusk', order_state = 'finished',
                 results = { { path = '/r/a_1.jpg', sequence = 1 }, { path = '/r/a_2.jpg', sequence = 2 },
                             { path = '/r/gone.jpg', sequence = 3 } } }
  local in_catalog = { ['/r/a_2.jpg'] = true }
  local options = { add_keyword = true, now = 'NOW',
                    in_catalog = function(path) return in_catalog[path] == true end,
                    on_disk = function(path) return path ~= '/r/gone.jpg' end }
  local writes = AihdTagging.plan({ s1 = photo }, { s1 = item }, function(_, f) return stored[f] end, options)
  assert(#writes == 1)
  same(writes[1].fields, { status = 'Finished (3 results)' })  -- the same order: only its Status moves
  assert(#writes[1].imports == 1 and writes[1].imports[1].path == '/r/a_1.jpg')
  same(writes[1].imports[1].fields, { orderId = 'o1', service = 'service-day-to-dusk', uploadedAt = 'NOW',
                                      status = 'Result 1 of 3' })
  same(writes[1].imports[1].keyword, { 'AI HomeDesign', 'Day to dusk', 'o1' })
  -- once in the catalog, and the Status said: nothing to write
  stored.status, in_catalog['/r/a_1.jpg'] = 'Finished (3 results)', true
  same(AihdTagging.plan({ s1 = photo }, { s1 = item }, function(_, f) return stored[f] end, options), {})
end)

test('launch: the line that starts the bridge quotes every argument, and refuses what it cannot', function()
  local text = AihdJson.encode({ command = { "/Users/José/it's here/python3", '-m', 'bridge' } })
  assert(AihdLaunch.command(text, false, '/Users/José/data') == "AIHD_HOME='/Users/José/data' "
         .. "nohup '/Users/José/it'\\''s here/python3' '-m' 'bridge' 'serve' >/dev/null 2>&1 &")
  text = AihdJson.encode({ command = { 'C:\\Users\\José\\Python\\python.exe', '-m', 'bridge' } })
  assert(AihdLaunch.command(text, true, 'C:\\Data') == 'set "AIHD_HOME=C:\\Data" && start "" /B '
         .. '"C:\\Users\\José\\Python\\python.exe" "-m" "bridge" "serve"')
  assert(AihdLaunch.command(text, true, 'C:\\100%') == nil)
  for _, bad in ipairs({ 'C:\\100%\\python.exe', 'C:\\a"&calc"\\python.exe', 'C:\\x!y\\python.exe' }) do
    local line, why = AihdLaunch.command(AihdJson.encode({ command = { bad } }), true, 'C:\\Data')
    assert(line == nil and why:find('cannot start safely', 1, true), tostring(line))
  end
  for _, broken in ipairs({ '', '{}', '{"command": []}', '{"command": [1]}', '{"command": "python -m bridge"}' }) do
    local line, why = AihdLaunch.command(broken, false)
    assert(line == nil and type(why) == 'string', broken)
  end
end)

test('property: the field, else the collection exported from, else the first photo\'s folder', function()
  local P = AihdProperty
  assert(P.choose('  12 Oak Avenue ', 'A collection', '/p/Folder/a.jpg') == '12 Oak Avenue')
  assert(P.choose('', '12 Oak Avenue', '/p/Folder/a.jpg') == '12 Oak Avenue')
  assert(P.choose('   ', nil, '/photos/2026/7 Mill Lane/IMG_1.jpg') == '7 Mill Lane')
  assert(P.choose(nil, '  ', [[C:\Shoots\Flat 3\IMG_1.jpg]]) == 'Flat 3')
  assert(P.choose('', nil, [[C:\IMG_1.jpg]]) == nil, 'a drive\'s root names no property')
  assert(P.choose('', nil, nil) == nil)
  local name, from = P.default('12 Oak Avenue', '/p/x/a.jpg')
  assert(name == '12 Oak Avenue' and from == 'collection')
  name, from = P.default(nil, '/p/x/a.jpg')
  assert(name == 'x' and from == 'folder')
  assert(P.folder_of('/p/x//a.jpg') == 'x' and P.folder_of('a.jpg') == nil)
end)

test('property: the dialog says what an empty field stands for', function()
  local P = AihdProperty
  assert(P.note('', '12 Oak Avenue', '/p/x/a.jpg') == 'Left empty: "12 Oak Avenue", the name of the collection exported from.')
  assert(P.note('', nil, '/p/Kitchen/a.jpg') == 'Left empty: "Kitchen", the folder of the first photo.')
  assert(P.note('', nil, nil, false):find('collection\'s name, else the folder', 1, true))
  assert(P.note('9 Elm Road', nil, nil):find('v3 orders are filed under it', 1, true))
end)

luatest.finish()
