--[[ From the bridge's view of a batch to the progress bar: a portion and a caption.
Rendering is the first half of the bar, uploading the second. Only the batch's totals are read
(counts, bytes, remote), never its items, so a poll costs the same at 2,000 photos as at 200. ]]

local AihdProgress = {}

local FINAL = { done = true, failed = true, cancelled = true }

function AihdProgress.is_final(state)
  return FINAL[state] == true
end

-- How many of a batch's items have ended, from its counts.
function AihdProgress.finished(batch)
  local counts, n = batch and batch.counts or {}, 0
  for state in pairs(FINAL) do n = n + (counts[state] or 0) end
  return n
end

-- The remote's state in words (remote: the bridge's `remote`; clock(epoch) -> "14:02"), or nil
-- when the API answers.
function AihdProgress.remote_words(remote, clock)
  if type(remote) ~= 'table' or remote.state == nil or remote.state == 'ok' then return nil end
  local since = remote.since and (' since ' .. clock(remote.since)) or ''
  if remote.state == 'rate_limited' then
    local next_try = remote.next_try and ('; next try at ' .. clock(remote.next_try)) or ''
    return 'AI HomeDesign asked the bridge to slow down' .. since .. next_try
      .. '; the photos are safe in the bridge.'
  end
  return 'Waiting for the network' .. since .. '; the photos are safe in the bridge.'
end

-- total: photos in the export; rendered: how many Lightroom has rendered so far;
-- batch: the bridge's answer for GET /v1/batches/<id> (or nil before the first hand-over);
-- clock(epoch) -> local time of day, for the remote's words.
function AihdProgress.describe(total, rendered, batch, clock)
  if total <= 0 then return 1, 'Nothing to export' end
  local finished, uploaded_fraction = AihdProgress.finished(batch), 0
  if batch and (batch.total or 0) > 0 then
    uploaded_fraction = (batch.bytes_total or 0) > 0 and (batch.bytes_sent or 0) / batch.bytes_total
      or finished / batch.total
    uploaded_fraction = uploaded_fraction * (batch.total / total)
  end
  local portion = 0.5 * (rendered / total) + 0.5 * math.min(1, uploaded_fraction)
  local caption
  if rendered < total then
    caption = string.format('Preparing photo %d of %d', math.min(rendered + 1, total), total)
  else
    local away = AihdProgress.remote_words(batch and batch.remote, clock)
    caption = away and string.format('%s %d of %d done.', away, finished, total)
      or string.format('Sending to AI HomeDesign: %d of %d done', finished, total)
  end
  return math.max(0, math.min(1, portion)), caption
end

return AihdProgress
