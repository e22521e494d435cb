--[[ Text that fits where Lightroom keeps it. A searchable metadata string must be under 512
bytes, or the whole catalog write fails; a cut must fall between UTF-8 characters, never inside
one. ]]

local AihdText = {}

AihdText.SEARCHABLE_MAX = 511  -- bytes
local MORE = '\226\128\166'   -- "…"

local function continuation(byte)
  return byte ~= nil and byte >= 0x80 and byte < 0xC0
end

-- The longest start of `text` of at most `max` bytes that ends on a character boundary.
function AihdText.cut(text, max)
  if #text <= max then return text end
  local stop = max + 1  -- the first byte left out
  while stop > 1 and continuation(text:byte(stop)) do stop = stop - 1 end
  return text:sub(1, stop - 1)
end

-- `text` itself when it fits in `max` bytes (511 by default), else its start and "…".
function AihdText.bound(text, max)
  max = max or AihdText.SEARCHABLE_MAX
  if #text <= max then return text end
  return AihdText.cut(text, max - #MORE) .. MORE
end

-- As many of `entries` (newest first) as fit in `max` bytes joined by "; ", then "…" when some
-- had to stay out (or `more` says some were left out before).
function AihdText.join_fitting(entries, max, more)
  max = max or AihdText.SEARCHABLE_MAX
  local kept, size = {}, 0
  for i, entry in ipairs(entries) do
    local extra = (i > 1 and 2 or 0) + #entry
    local room = max - ((more or i < #entries) and (2 + #MORE) or 0)
    if size + extra > room then
      if #kept == 0 then return AihdText.bound(entry, max) end
      more = true
      break
    end
    kept[#kept + 1], size = entry, size + extra
  end
  if more then kept[#kept + 1] = MORE end
  return table.concat(kept, '; ')
end

-- The entries of a list written by join_fitting, and whether it said some were left out.
function AihdText.split(list)
  local entries, more = {}, false
  for entry in (list or ''):gmatch('[^;]+') do
    entry = entry:match('^%s*(.-)%s*$')
    if entry == MORE then more = true elseif entry ~= '' then entries[#entries + 1] = entry end
  end
  return entries, more
end

return AihdText
