--[[ AI HomeDesign export storage for darktable 4.x (Lua API 9).

Export images with the storage "AI HomeDesign": each one is handed to the local aihd-bridge
(`aihd-bridge upload --items ... --bridge-only`), which orders it from the AI HomeDesign API.
Each image goes as part of a property (the API's project): the storage's "property" field, else
its film roll (its folder's name). Afterwards every source image carries the tag
"AI HomeDesign|<service>|<order id>" and a line in its notes; failures show in darktable's
messages and, one line each, in its log.

Install: `aihd-bridge plugin install --host darktable` (copies this file and aihomedesign_lib/
into darktable's lua/contrib folder and adds `require "contrib/aihomedesign"` to luarc).
The logic lives in aihomedesign_lib/AihdDarktable.lua; this file is the darktable glue. ]]

local dt = require 'darktable'

local here = (debug.getinfo(1, 'S').source:match('^@(.*[/\\])')) or './'
package.path = here .. 'aihomedesign_lib/?.lua;' .. package.path
local Aihd = require 'AihdDarktable'

local MODULE = 'aihomedesign'
local STORAGE = 'aihomedesign'
local windows = dt.configuration.running_os == 'windows'
local sep = windows and '\\' or '/'

local script_data = {
  metadata = {
    name = 'AI HomeDesign',
    purpose = 'order virtual staging, day to dusk and more for exported images',
    author = 'aihd-bridge',
  },
}

if (tonumber(dt.configuration.api_version_string:match('^(%d+)')) or 0) < 9 then
  dt.print_error('AI HomeDesign needs darktable 4.0 or newer (Lua API 9); this is API '
    .. dt.configuration.api_version_string)
  return script_data
end

local function read_file(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local text = f:read('a')
  f:close()
  return text
end

local function write_file(path, text)
  local f, err = io.open(path, 'wb')
  if not f then return nil, err end
  f:write(text)
  f:close()
  return true
end

dt.preferences.register(MODULE, 'program', 'string', 'AI HomeDesign: aihd-bridge program',
  'the aihd-bridge command to run; empty: the one that installed this script, else aihd-bridge on PATH', '')

local function program()
  return Aihd.program(dt.preferences.read(MODULE, 'program', 'string'),
                      read_file(here .. 'aihomedesign_lib' .. sep .. 'installed.json'))
end

local function library_id()
  local id = dt.preferences.read(MODULE, 'library_id', 'string')
  if id == '' then
    id = Aihd.new_library_id(math.random)
    dt.preferences.write(MODULE, 'library_id', 'string', id)
  end
  return id
end

local function temp_path(suffix)
  return dt.configuration.tmp_dir .. sep .. 'aihd-' .. Aihd.new_library_id(math.random) .. suffix
end

-- Run the command; returns its stdout, exit code and stderr.
local function run(argv)
  local errfile = temp_path('.err')
  local ok, line = pcall(Aihd.command_line, argv, errfile, windows)
  if not ok then return nil, nil, line end
  dt.print_log('AI HomeDesign: ' .. line)
  local pipe = io.popen(line, 'r')
  if not pipe then return nil, nil, 'could not start ' .. argv[1] end
  local stdout = pipe:read('a')
  local _, _, code = pipe:close()
  local stderr = read_file(errfile) or ''
  os.remove(errfile)
  return stdout, code, stderr
end

local presets, services, asked = Aihd.read_presets((run(Aihd.presets_argv(program()))))
if not asked then dt.print_log('AI HomeDesign: aihd-bridge did not list its presets; the built-in ones are used') end

local chooser = dt.new_widget('combobox') {
  label = 'service',
  tooltip = 'the service to order, or a preset; Auto lets the bridge choose from each photo',
  changed_callback = function(self)
    dt.preferences.write(MODULE, 'preset', 'string', presets[self.selected].name)
  end,
}
local remembered = dt.preferences.read(MODULE, 'preset', 'string')
local selected = {}
for i, p in ipairs(presets) do
  chooser[i] = p.title
  selected[p.name] = i
end
chooser.selected = selected[remembered] or selected.auto or 1

-- The property (an address) of this export's images; empty: each image's own film roll.
local property = dt.new_widget('entry') {
  text = '',
  placeholder = 'property: empty for each image\'s film roll',
  tooltip = 'the property (an address) these images are of, for the API\'s project; '
    .. 'empty: each image\'s film roll (the name of its folder)',
}

local widget = dt.new_widget('box') {
  orientation = 'vertical',
  chooser,
  property,
  dt.new_widget('label') {
    label = 'each image gets the tag AI HomeDesign|service|order id and a line in its notes',
    ellipsize = 'middle',
  },
}

local SENDABLE = { jpg = true, jpeg = true, png = true, webp = true, tif = true, tiff = true }

local function supported(_, format)
  return SENDABLE[string.lower(format.extension)] == true
end

local function store(_, image, _, filename, _, _, _, extra)
  local path = Aihd.unique_export_path(filename, image.id)
  if not os.rename(filename, path) then path = filename end
  extra.entries = extra.entries or {}
  local film = image.film
  table.insert(extra.entries, { image = image, path = path, name = image.filename,
                                source_id = Aihd.source_id(library_id(), image.id),
                                project = Aihd.project(property.text, film and film.path or image.path) })
end

local function write_back(done)
  for _, d in ipairs(done) do
    local image = d.entry.image
    dt.tags.attach(dt.tags.create(d.tag), image)
    image.notes = Aihd.notes_with(image.notes, d.notes_line)
  end
end

local function finalize(_, _, extra)
  local entries = extra.entries or {}
  if #entries == 0 then return end
  local preset = presets[chooser.selected] and presets[chooser.selected].name or 'auto'
  local items_file = temp_path('.json')
  local ok, err = write_file(items_file, Aihd.items_json(entries))
  local answer
  if not ok then
    answer = { error = 'AI HomeDesign: could not write ' .. items_file .. ': ' .. tostring(err) }
  else
    dt.print(string.format('AI HomeDesign: handing %d images to the bridge', #entries))
    local argv = Aihd.upload_argv(program(), items_file, preset)
    local stdout, code, stderr = run(argv)
    answer = Aihd.read_answer(stdout, code, stderr, argv[1])
    os.remove(items_file)
  end
  -- The bridge has its own copies once it answered: the exports are not needed any more.
  for _, e in ipairs(entries) do os.remove(e.path) end
  if answer.error then
    dt.print(answer.error)   -- once per export, however many images it had
    dt.print_error(answer.error)
    return
  end
  local done, failed = Aihd.outcomes(entries, answer.results, services)
  write_back(done)
  for _, f in ipairs(failed) do dt.print_error('AI HomeDesign: ' .. f.error) end
  dt.print(Aihd.summary(done, failed))
end

dt.register_storage(STORAGE, 'AI HomeDesign', store, finalize, supported, nil, widget)

script_data.destroy = function() dt.destroy_storage(STORAGE) end

return script_data
