--[[ Loads the installed darktable script as darktable does (`require "contrib/aihomedesign"`
with <config>/lua on package.path) against the fake darktable module, picks a preset in its
widget as a user would, exports images, and writes what happened as JSON.
usage: lua5.4 run_export.lua <darktable config dir> <scenario.json> <outcome.json>
scenario: {tmp_dir, running_os, images = [{id, path}], export = [ids], format,
           preset (a title to pick in the widget), property (typed in its entry), preferences = {"script/name": value}} ]]

local here = arg[0]:match('^(.*[/\\])') or './'
package.path = here .. '?.lua;' .. package.path
local fake = require 'fake_darktable'

local function read(path)
  local f = assert(io.open(path, 'rb'))
  local text = f:read('a')
  f:close()
  return text
end

local config_dir, scenario_path, outcome_path = arg[1], arg[2], arg[3]
package.path = config_dir .. '/lua/?.lua;' .. package.path  -- as darktable sets it
-- The harness's own JSON, loaded aside: the script must find its modules by itself.
local lua_path = package.path
package.path = config_dir .. '/lua/contrib/aihomedesign_lib/?.lua;' .. lua_path
local Json = dofile(config_dir .. '/lua/contrib/aihomedesign_lib/AihdJson.lua')
package.path, package.loaded.dkjson = lua_path, nil
local scenario = assert(Json.decode(read(scenario_path)))
scenario.config_dir = config_dir

fake.setup(scenario)
local loaded_ok, script_data = pcall(require, 'contrib/aihomedesign')
local outcome = { loaded = loaded_ok, load_error = (not loaded_ok) and tostring(script_data) or nil }

local storage = fake.storage('aihomedesign')
if storage then
  local widget = storage.widget
  local chooser = fake.widget_children(widget)[1]
  local titles = {}
  for i = 1, #chooser do titles[i] = chooser[i] end
  outcome.storage = { name = storage.name, formats = {}, presets = titles, selected = chooser.value }
  for f in pairs(storage.formats) do table.insert(outcome.storage.formats, f) end
  table.sort(outcome.storage.formats)
  for _, child in ipairs(fake.widget_children(widget)) do  -- the person types a property
    if scenario.property and getmetatable(child).__name == 'lua_entry' then child.text = scenario.property end
  end
  if scenario.preset then
    for i = 1, #chooser do if chooser[i] == scenario.preset then chooser.selected = i end end
  end
  local by_id = {}
  for _, image in ipairs(fake.images) do by_id[fake.raw(image).id] = image end
  local chosen = {}
  for _, id in ipairs(scenario.export or {}) do chosen[#chosen + 1] = by_id[id] end
  local ok, err = pcall(fake.export, 'aihomedesign', chosen, scenario.format or 'jpeg')
  outcome.export_error = (not ok) and tostring(err) or nil
end

outcome.messages, outcome.errors, outcome.images = fake.messages, fake.errors, {}
outcome.preferences = fake.prefs
for _, image in ipairs(fake.images) do
  local data = fake.raw(image)
  local tags = {}
  for _, t in ipairs(data.tags) do tags[#tags + 1] = t.name end
  table.insert(outcome.images, { id = data.id, path = data.source, notes = data.notes,
                                 tags = Json.array(tags) })
end
outcome.script_has_destroy = type(script_data) == 'table' and type(script_data.destroy) == 'function'
outcome.messages, outcome.errors = Json.array(outcome.messages), Json.array(outcome.errors)

local f = assert(io.open(outcome_path, 'wb'))
f:write(Json.encode(outcome))
f:close()
