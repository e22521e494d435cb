--[[ The Lua time of one poll during an export, as the plugin handles it: the bridge's answer
decoded (AihdBridge:call, AihdJson) and the progress bar updated (AihdExportJob:refresh and
show), for exports of 200 and 2,000 photos; with the cursor (the answer carries what changed in
the last second: a few items) and without (every item, as before the cursor). CPU time per poll,
measured with os.clock. Run by `python -m bench --only lua-poll`.
usage: lua5.1 bench_poll.lua <plugin dir> [seconds per case, default 0.5]   — prints one JSON object ]]

local plugin_dir = arg[1]
package.path = plugin_dir .. '/logic/?.lua;' .. package.path

local AihdBridge = require 'AihdBridge'
local AihdExportJob = require 'AihdExportJob'
local AihdJson = require 'AihdJson'

local CHANGED_PER_POLL = 5  -- what changes in a second of an export: a few photos
local MIN_SECONDS = tonumber(arg[2]) or 0.5

-- An item as the bridge's GET /v1/batches/<id> writes it (bridge/web/routes.py item_view).
local function item(n, state)
  return {
    id = string.format('i_%022d', n), source_id = string.format('3f2a9c1b7d4e5f60:%d', 100000 + n),
    path = string.format('/private/var/folders/xy/T/Lightroom/Export-%d/IMG_%05d.jpg', 42, n),
    filename = string.format('IMG_%05d.jpg', n), state = state, attempts = 1,
    order_id = state == 'done' and string.format('sandbox-%016x', n * 7919) or nil,
    service_name = 'service-image-enhancement', service_reason = 'auto: daylight interior (EXIF: 1/125 s, f/8, ISO 200)',
    size = 4200000 + n, bytes_sent = state == 'done' and 4200000 + n or 0, notes = AihdJson.array({}),
  }
end

-- The answer to one poll in the middle of an export of `total` photos.
local function answer(total, with_cursor)
  local items, half = {}, math.floor(total / 2)
  local first, last = 1, total
  if with_cursor then first, last = half, half + CHANGED_PER_POLL - 1 end
  for n = first, last do items[#items + 1] = item(n, n < half and 'done' or (n == half and 'uploading' or 'queued')) end
  return AihdJson.encode({
    id = 'b_bench', created = 1764000000, cursor = 100000 + total, finished = false,
    counts = { queued = total - half, uploading = 1, done = half - 1, failed = 0, cancelled = 0 },
    total = total, bytes_total = total * 4200000, bytes_sent = half * 4200000,
    items = AihdJson.array(items),
    remote = { state = 'ok', since = 1764000000 },
  })
end

local function per_poll(total, with_cursor)
  local text = answer(total, with_cursor)
  local http = { request = function(_, url)
    assert(with_cursor == (url:find('?since=', 1, true) ~= nil), url)
    return 200, text
  end }
  local bridge = setmetatable({ url = 'http://127.0.0.1:1', token = 't', http = http }, { __index = AihdBridge })
  local job = AihdExportJob.new {
    bridge = bridge, client = 'lightroom:bench', total = total, fields = {}, log = function() end,
    sleep = function() end, now = os.time, clock = function() return '14:02' end,
    progress = { set = function() end, canceled = function() return false end },
  }
  job.batch_id, job.rendered = 'b_bench', total
  local polls, started = 0, os.clock()
  repeat
    job.cursor = with_cursor and 100000 or nil
    job:refresh()
    job:show()
    polls = polls + 1
  until polls >= 20 and os.clock() - started >= MIN_SECONDS
  return (os.clock() - started) / polls, #text
end

local out = {}
for _, mode in ipairs({ 'cursor', 'full' }) do
  for _, total in ipairs({ 200, 2000 }) do
    local seconds, bytes = per_poll(total, mode == 'cursor')
    out[#out + 1] = string.format('"%s_%d": {"seconds": %.9f, "bytes": %d}', mode, total, seconds, bytes)
  end
end
print('{' .. table.concat(out, ', ') .. '}')
