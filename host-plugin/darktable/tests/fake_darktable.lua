--[[ A fake `darktable` module for Lua 5.4, as strict as the real one where the script touches it
(darktable 4.x, Lua API 9: src/lua/*.c and lua-scripts' contrib storages):
- objects (images, tags, widgets, formats, storages) refuse fields they do not have and
  writes to read-only ones, as darktable's typed userdata do;
- dt.new_widget knows only darktable's widget types and each type's fields;
- dt.register_storage checks its arguments as luastorage.c does and asks `supported` about
  every format at registration;
- an export runs as darktable's export job does: each image is exported into tmp_dir under
  its source file's name with the format's extension, then `store` is called for it; an
  image whose export fails gets no `store`; `finalize` gets {image = exported path} last.
usage: local fake = require 'fake_darktable'; fake.setup(config) ... fake.export(...) ]]

local fake = {}

local function strict(type_name, fields, values)
  -- fields: name -> 'r' (read-only) or 'rw'
  local data = values or {}
  return setmetatable({}, {
    __name = type_name,
    __index = function(_, key)
      if fields[key] == nil then
        error(string.format('field "%s" not found for type %s', tostring(key), type_name), 2)
      end
      return data[key]
    end,
    __newindex = function(_, key, value)
      if fields[key] ~= 'rw' then
        error(string.format('field "%s" of type %s is %s', tostring(key), type_name,
          fields[key] and 'read-only' or 'unknown'), 2)
      end
      data[key] = value
    end,
    __data = data,
  })
end

local function raw(obj) return getmetatable(obj).__data end

local function check(cond, message)
  if not cond then error(message, 3) end
end

-- Images -------------------------------------------------------------------------------
local IMAGE_FIELDS = {
  id = 'r', filename = 'r', path = 'r', film = 'r', duplicate_index = 'r', sidecar = 'r',
  is_raw = 'r', is_ldr = 'r', is_hdr = 'r', width = 'r', height = 'r', group_leader = 'r',
  exif_maker = 'rw', exif_model = 'rw', exif_lens = 'rw', exif_datetime_taken = 'rw',
  rating = 'rw', red = 'rw', blue = 'rw', green = 'rw', yellow = 'rw', purple = 'rw',
  creator = 'rw', publisher = 'rw', title = 'rw', description = 'rw', rights = 'rw',
  notes = 'rw', version_name = 'rw', get_tags = 'r', attach_tag = 'r', detach_tag = 'r',
}
local METADATA = { creator = true, publisher = true, title = true, description = true,
                   rights = true, notes = true, version_name = true }

-- Film rolls: one per folder, as darktable imports them (dt_lua_film_t: its full path).
local FILM_FIELDS = { id = 'r', path = 'rw' }
local films = {}
local function film_of(dir)
  if not films[dir] then
    local count = 0
    for _ in pairs(films) do count = count + 1 end
    films[dir] = strict('dt_lua_film_t', FILM_FIELDS, { id = count + 1, path = dir })
  end
  return films[dir]
end

local function new_image(spec)
  local dir, name = spec.path:match('^(.*)/([^/]+)$')
  local values = { id = spec.id, filename = name, path = dir, film = film_of(dir), duplicate_index = 0,
                   rating = 0, source = spec.path, tags = {} }
  for k in pairs(METADATA) do values[k] = spec[k] or '' end
  local image = strict('dt_lua_image_t', IMAGE_FIELDS, values)
  local mt = getmetatable(image)
  local index = mt.__index
  mt.__index = function(t, key)
    if key == 'get_tags' then return function(self) return fake.tags.get_tags(self) end end
    if key == 'attach_tag' then return function(self, tag) fake.tags.attach(tag, self) end end
    return index(t, key)
  end
  local newindex = mt.__newindex
  mt.__newindex = function(t, key, value)
    if METADATA[key] and type(value) ~= 'string' then
      error(string.format('bad argument #3 to \'%s\' (string expected, got %s)', key, type(value)), 2)
    end
    newindex(t, key, value)
  end
  return image
end

-- Tags ---------------------------------------------------------------------------------
local tags_by_name = {}

local function new_tag(name)
  return strict('dt_lua_tag_t', { name = 'r', attach = 'r', detach = 'r' }, { name = name, images = {} })
end

fake.tags = {}
function fake.tags.create(name)
  check(type(name) == 'string' and name ~= '', 'dt.tags.create: a tag name (string) is needed')
  tags_by_name[name] = tags_by_name[name] or new_tag(name)
  return tags_by_name[name]
end
function fake.tags.find(name) return tags_by_name[name] end
function fake.tags.attach(tag, image)
  check(getmetatable(tag) and getmetatable(tag).__name == 'dt_lua_tag_t',
        'dt.tags.attach: argument #1 is not a tag')
  check(getmetatable(image) and getmetatable(image).__name == 'dt_lua_image_t',
        'dt.tags.attach: argument #2 is not an image')
  local list = raw(image).tags
  for _, t in ipairs(list) do if t == tag then return end end
  list[#list + 1] = tag
end
function fake.tags.get_tags(image)
  local copy = {}
  for i, t in ipairs(raw(image).tags) do copy[i] = t end
  return copy
end

-- Preferences (darktablerc's lua/<script>/<name> keys) -----------------------------------
local PREF_TYPES = { string = '', bool = false, integer = 0, float = 0.0, file = '',
                     directory = '', enum = '', lua = '' }
local prefs, registered = {}, {}
fake.preferences = {}
function fake.preferences.register(script, name, kind, label, tooltip, default, ...)
  check(type(script) == 'string' and type(name) == 'string', 'dt.preferences.register: script and name are strings')
  check(PREF_TYPES[kind] ~= nil, 'dt.preferences.register: unknown type ' .. tostring(kind))
  check(type(label) == 'string' and type(tooltip) == 'string', 'dt.preferences.register: label and tooltip are strings')
  check(default ~= nil, 'dt.preferences.register: a default value is needed')
  registered[script .. '/' .. name] = { kind = kind, default = default, extra = { ... } }
end
function fake.preferences.read(script, name, kind)
  check(PREF_TYPES[kind] ~= nil, 'dt.preferences.read: unknown type ' .. tostring(kind))
  local key = script .. '/' .. name
  if prefs[key] ~= nil then return prefs[key] end
  if registered[key] then return registered[key].default end
  return PREF_TYPES[kind]
end
function fake.preferences.write(script, name, kind, value)
  check(PREF_TYPES[kind] ~= nil, 'dt.preferences.write: unknown type ' .. tostring(kind))
  check(kind ~= 'string' or type(value) == 'string', 'dt.preferences.write: a string value is needed')
  prefs[script .. '/' .. name] = value
end

-- Widgets ------------------------------------------------------------------------------
local COMMON = { tooltip = 'rw', visible = 'rw', sensitive = 'rw', reset_callback = 'rw', name = 'rw' }
local WIDGETS = {
  box = { orientation = 'rw' },
  button = { label = 'rw', clicked_callback = 'rw', ellipsize = 'rw', image = 'rw' },
  check_button = { label = 'rw', value = 'rw', clicked_callback = 'rw' },
  combobox = { label = 'rw', value = 'rw', selected = 'rw', editable = 'rw', changed_callback = 'rw' },
  container = {},
  entry = { text = 'rw', placeholder = 'rw', is_password = 'rw', editable = 'rw' },
  file_chooser_button = { title = 'rw', value = 'rw', is_directory = 'rw', changed_callback = 'rw' },
  label = { label = 'rw', selectable = 'rw', halign = 'rw', ellipsize = 'rw' },
  section_label = { label = 'rw' },
  separator = { orientation = 'rw' },
  slider = { label = 'rw', soft_min = 'rw', soft_max = 'rw', hard_min = 'rw', hard_max = 'rw',
             step = 'rw', digits = 'rw', value = 'rw' },
  stack = { active = 'rw', h_size_fixed = 'rw', v_size_fixed = 'rw' },
  text_view = { text = 'rw', editable = 'rw' },
}
local ENUMS = { orientation = { horizontal = true, vertical = true },
                ellipsize = { none = true, start = true, middle = true, ['end'] = true },
                halign = { fill = true, start = true, ['end'] = true, center = true, baseline = true } }

local function new_combobox(fields)
  local entries, selected = {}, 0
  local data = {}
  local widget = setmetatable({}, {
    __name = 'lua_combobox',
    __len = function() return #entries end,
    __index = function(_, key)
      if type(key) == 'number' then return entries[key] end
      if key == 'selected' then return selected end
      if key == 'value' then return entries[selected] end
      if fields[key] == nil then error(string.format('field "%s" not found for type lua_combobox', key), 2) end
      return data[key]
    end,
    __newindex = function(self, key, value)
      if type(key) == 'number' then
        if key <= 0 or key > #entries + 1 then error('Invalid index for combobox : ' .. key, 2) end
        if value == nil then table.remove(entries, key)
        else check(type(value) == 'string', 'combobox entries are strings'); entries[key] = value end
        return
      end
      if key == 'selected' or key == 'value' then
        check(math.type(value) == 'integer', 'Invalid type for combo box ' .. key)
        if value < (key == 'selected' and 0 or 1) or value > #entries then
          error('Invalid index for combo box : ' .. value, 2)
        end
        selected = value
        if data.changed_callback then data.changed_callback(self) end  -- GTK's value-changed
        return
      end
      if fields[key] ~= 'rw' then error(string.format('field "%s" not found for type lua_combobox', key), 2) end
      data[key] = value
    end,
  })
  return widget
end

function fake.new_widget(kind)
  check(WIDGETS[kind] ~= nil, 'unknown widget type ' .. tostring(kind))
  local fields = {}
  for k, v in pairs(COMMON) do fields[k] = v end
  for k, v in pairs(WIDGETS[kind]) do fields[k] = v end
  return function(init)
    local widget
    if kind == 'combobox' then
      widget = new_combobox(fields)
    else
      widget = strict('lua_' .. kind, fields, { children = {} })
    end
    local children, later = {}, {}
    for key, value in pairs(init or {}) do
      if type(key) == 'number' then
        children[key] = value
      elseif kind == 'combobox' and (key == 'value' or key == 'selected') then
        later[key] = value  -- an index: the entries come first
      else
        if ENUMS[key] then check(ENUMS[key][value], 'invalid value ' .. tostring(value) .. ' for ' .. key) end
        widget[key] = value
      end
    end
    for i, child in ipairs(children) do
      if kind == 'combobox' then widget[i] = child
      else
        check(type(child) ~= 'string', 'a ' .. kind .. ' takes widgets, not strings')
        check(getmetatable(child) and tostring(getmetatable(child).__name):match('^lua_'), 'not a widget in a ' .. kind)
        raw(widget).children[i] = child
      end
    end
    for key, value in pairs(later) do widget[key] = value end
    return widget
  end
end

function fake.widget_children(widget) return raw(widget).children end

-- Formats and storages -----------------------------------------------------------------
local FORMAT_FIELDS = { extension = 'r', mime = 'r', name = 'r', max_width = 'rw', max_height = 'rw',
                        write_image = 'r', plugin_name = 'r', quality = 'rw' }
local function new_format(plugin, extension, mime)
  return strict('dt_imageio_module_format_data_' .. plugin, FORMAT_FIELDS,
    { extension = extension, mime = mime, name = plugin, plugin_name = plugin, max_width = 0,
      max_height = 0, quality = 95 })
end
fake.FORMATS = {
  jpeg = function() return new_format('jpeg', 'jpg', 'image/jpeg') end,
  png = function() return new_format('png', 'png', 'image/png') end,
  webp = function() return new_format('webp', 'webp', 'image/webp') end,
  tiff = function() return new_format('tiff', 'tif', 'image/tiff') end,
  exr = function() return new_format('exr', 'exr', 'image/openexr') end,
  pfm = function() return new_format('pfm', 'pfm', 'image/x-portable-floatmap') end,
  pdf = function() return new_format('pdf', 'pdf', 'application/pdf') end,
}

local storages = {}

function fake.register_storage(plugin_name, name, store, finalize, supported, initialize, widget, ...)
  check(select('#', ...) == 0, 'dt.register_storage takes at most 7 arguments')
  check(type(plugin_name) == 'string', 'bad argument #1 to \'register_storage\' (string expected)')
  check(type(name) == 'string', 'bad argument #2 to \'register_storage\' (string expected)')
  local callbacks = { store, finalize, supported, initialize }
  for i = 1, 4 do  -- not ipairs: any of them may be nil
    check(callbacks[i] == nil or type(callbacks[i]) == 'function',
          'bad argument #' .. (i + 2) .. ' to \'register_storage\' (function expected)')
  end
  local widget_type = widget and getmetatable(widget) and tostring(getmetatable(widget).__name)
  check(widget == nil or (widget_type or ''):match('^lua_'),
        'bad argument #7 to \'register_storage\' (widget expected)')
  local s = { plugin_name = plugin_name, name = name, store = store, finalize = finalize,
              supported = supported, initialize = initialize, widget = widget, formats = {} }
  for format_name, make in pairs(fake.FORMATS) do
    local params = strict('dt_imageio_module_data_pseudo_' .. plugin_name,
                          { plugin_name = 'r', name = 'r' }, { plugin_name = plugin_name, name = name })
    if supported == nil or supported(params, make()) then s.formats[format_name] = true end
  end
  storages[plugin_name] = s
end

function fake.destroy_storage(plugin_name)
  check(storages[plugin_name], 'no storage ' .. tostring(plugin_name))
  storages[plugin_name] = nil
end

function fake.storage(plugin_name) return storages[plugin_name] end

local function copy_file(from, to)
  local src = io.open(from, 'rb')
  if not src then return false end
  local bytes = src:read('a')
  src:close()
  local dest = assert(io.open(to, 'wb'))
  dest:write(bytes)
  dest:close()
  return true
end

-- darktable's export job for `images` with the storage and a format (by name).
function fake.export(plugin_name, images, format_name)
  local s = assert(storages[plugin_name], 'storage not registered: ' .. plugin_name)
  assert(s.formats[format_name], 'the storage does not support ' .. format_name)
  local format = fake.FORMATS[format_name]()
  local params = strict('dt_imageio_module_data_pseudo_' .. plugin_name,
                        { plugin_name = 'r', name = 'r' }, { plugin_name = plugin_name, name = s.name })
  local extra, files = {}, {}
  if s.initialize then
    local chosen = s.initialize(params, format, images, true, extra)
    if chosen ~= nil then images = chosen end
  end
  for n, image in ipairs(images) do
    local base = raw(image).filename:gsub('%.[^.]*$', '')
    local filename = fake.configuration.tmp_dir .. '/' .. base .. '.' .. format.extension
    if copy_file(raw(image).source, filename) then
      files[image] = filename
      if s.store then s.store(params, image, format, filename, n, #images, true, extra) end
    end
  end
  if s.finalize then s.finalize(params, files, extra) end
end

-- Messages and set-up ------------------------------------------------------------------
fake.messages, fake.errors, fake.log = {}, {}, {}
function fake.print(message)
  check(type(message) == 'string', 'dt.print takes a string')
  table.insert(fake.messages, message)
end
function fake.print_error(message)
  check(type(message) == 'string', 'dt.print_error takes a string')
  table.insert(fake.errors, message)
end
function fake.print_log(message)
  check(type(message) == 'string', 'dt.print_log takes a string')
  table.insert(fake.log, message)
end

-- config: {tmp_dir, config_dir, running_os, images = {{id, path}, ...}, preferences = {...}}
function fake.setup(config)
  fake.configuration = {
    tmp_dir = config.tmp_dir, config_dir = config.config_dir, cache_dir = config.tmp_dir,
    version = '4.8.1', verbose = false, has_gui = true, running_os = config.running_os or 'linux',
    api_version_major = 9, api_version_minor = 3, api_version_patch = 0,
    api_version_suffix = '', api_version_string = config.api_version_string or '9.3.0',
  }
  fake.images = {}
  for _, spec in ipairs(config.images or {}) do fake.images[#fake.images + 1] = new_image(spec) end
  for key, value in pairs(config.preferences or {}) do prefs[key] = value end
  fake.prefs = prefs
  package.loaded['darktable'] = setmetatable({}, {
    __index = function(_, key)
      local public = { configuration = true, tags = true, preferences = true,
                       new_widget = true, register_storage = true, destroy_storage = true,
                       print = true, print_error = true, print_log = true }
      if not public[key] then error('darktable has no field ' .. tostring(key) .. ' in this fake', 2) end
      return fake[key]
    end,
    __newindex = function() error('the darktable module is read-only', 2) end,
  })
  return fake
end

fake.raw = raw

return fake
