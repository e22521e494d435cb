--[[ Drives a real darktable (4.2 or newer, Lua API 9; headless under Xvfb) through one export
with the installed script, as a photographer would: import the photos, select them, press the
export module's button (its storage set to AI HomeDesign on darktable's command line), wait for
the tags, write what each photo carries, quit. darktable runs it after luarc:
  darktable --luacmd 'dofile("real_export.lua")'
with AIHD_DT_SPEC naming {photos = [paths], untagged = how many stay untagged, timeout = s}
and AIHD_DT_OUTCOME the JSON file it writes: {images = [{path, tags, notes}], timed_out}. ]]

local dt = require 'darktable'
local Json = require 'AihdJson'  -- on the path the installed script set up

local given = assert(io.open(os.getenv('AIHD_DT_SPEC'), 'rb'))
local spec = assert(Json.decode(given:read('a')))
given:close()
local images = {}
for i, path in ipairs(spec.photos) do images[i] = assert(dt.database.import(path), path) end
dt.gui.selection(images)
dt.gui.action('lib/export/export', 0, '', '', 1.0)

local function ours(image)
  local names = {}
  for _, tag in ipairs(dt.tags.get_tags(image)) do
    if tag.name:find('AI HomeDesign', 1, true) == 1 then names[#names + 1] = tag.name end
  end
  return names
end

local function untagged()
  local n = 0
  for _, image in ipairs(images) do
    if #ours(image) == 0 then n = n + 1 end
  end
  return n
end

-- The script tags every photo in one go at the end of the export; sleeping lets it run.
local deadline = os.time() + (spec.timeout or 60)
while untagged() > (spec.untagged or 0) and os.time() < deadline do dt.control.sleep(100) end

local outcome = { images = {}, timed_out = untagged() > (spec.untagged or 0) }
for i, image in ipairs(images) do
  outcome.images[i] = { path = spec.photos[i], tags = Json.array(ours(image)), notes = image.notes or '' }
end
outcome.images = Json.array(outcome.images)
local f = assert(io.open(os.getenv('AIHD_DT_OUTCOME'), 'wb'))
f:write(Json.encode(outcome))
f:close()
dt.gui.action('global/quit', 0, '', '', 1.0)
