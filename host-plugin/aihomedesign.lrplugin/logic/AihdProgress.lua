--[[ From the bridge's view of a batch to the progress bar: a portion and a caption.
Rendering is the first half of the bar, uploading the second. ]]

local AihdProgress = {}

local FINAL = { done = true, failed = true, cancelled = true }

function AihdProgress.is_final(state)
  return FINAL[state] == true
end

-- total: photos in the export; rendered: how many Lightroom has rendered so far;
-- batch: the bridge's answer for GET /v1/batches/<id> (or nil before the first hand-over);
-- now: seconds since the epoch, to say how long a rate-limit wait lasts.
function AihdProgress.describe(total, rendered, batch, now)
  if total <= 0 then return 1, 'Nothing to export' end
  local finished, uploaded_fraction, waiting_until = 0, 0, nil
  if batch and batch.items then
    local bytes_total, bytes_sent = 0, 0
    for _, item in ipairs(batch.items) do
      if FINAL[item.state] then finished = finished + 1 end
      bytes_total = bytes_total + (item.size or 0)
      bytes_sent = bytes_sent + (FINAL[item.state] and (item.size or 0) or (item.bytes_sent or 0))
      if item.waiting_until and (not waiting_until or item.waiting_until < waiting_until) then
        waiting_until = item.waiting_until
      end
    end
    uploaded_fraction = bytes_total > 0 and bytes_sent / bytes_total or finished / total
    uploaded_fraction = uploaded_fraction * (#batch.items / total)
  end
  local portion = 0.5 * (rendered / total) + 0.5 * math.min(1, uploaded_fraction)
  local caption
  if rendered < total then
    caption = string.format('Preparing photo %d of %d', math.min(rendered + 1, total), total)
  elseif waiting_until and now and waiting_until > now then
    caption = string.format('AI HomeDesign asked to slow down: next try in %d s (%d of %d sent)',
                            math.ceil(waiting_until - now), finished, total)
  else
    caption = string.format('Sending to AI HomeDesign: %d of %d done', finished, total)
  end
  return math.max(0, math.min(1, portion)), caption
end

return AihdProgress
