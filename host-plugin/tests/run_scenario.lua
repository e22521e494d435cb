--[[ Runs the real plugin files against the strict fake SDK, as one scenario, and writes what
happened. Exits 1 when the plugin broke a rule of the SDK (outcome.violations says which) or a
task failed. usage: lua5.1 run_scenario.lua <plugin dir> <scenario.json> <outcome.json> ]]

local plugin_dir, scenario_path, outcome_path = arg[1], arg[2], arg[3]
local here = arg[0]:match('^(.*)/[^/]+$') or '.'
package.path = here .. '/?.lua;' .. package.path

local cjson = require 'cjson'
local FakeSdk = require 'fake_sdk'

local function read(path)
  local fh = assert(io.open(path, 'rb'))
  local text = fh:read('*a')
  fh:close()
  return text
end

local scenario = cjson.decode(read(scenario_path))
FakeSdk.sleep_scale = scenario.sleep_scale or 1
FakeSdk.catalog.busy = scenario.busy_writes or 0
FakeSdk.confirm_answer = scenario.confirm or 'ok'
FakeSdk.cancel_wait_after = scenario.cancel_wait_after  -- polls of the wait before the user cancels
FakeSdk.catalog.path = scenario.catalog_path or FakeSdk.catalog.path
-- The catalog's own plug-in properties carry over, as the catalog file keeps them: a later run
-- with another catalog_path is the same catalog, upgraded or moved.
for k, v in pairs(scenario.catalog_props or {}) do FakeSdk.catalog.props[k] = v end
FakeSdk.catalog.more_photos = scenario.more_photos  -- photos beyond those listed: a big catalog
FakeSdk.http_throws = scenario.http_throws
FakeSdk.version = scenario.lightroom_version and { major = scenario.lightroom_version, minor = 0 } or FakeSdk.version
-- Seconds until Lightroom quits, dropping the tasks still running (nil: it waits for them all).
local quit_after = scenario.quit_after
local function run_tasks() FakeSdk.run_tasks(quit_after or 600, quit_after ~= nil) end
for k, v in pairs(scenario.prefs or {}) do FakeSdk.prefs[k] = v end
FakeSdk.install(plugin_dir)

local renders = {}
for i, spec in ipairs(scenario.photos or {}) do
  local photo = FakeSdk.photo(spec.id or (1000 + i), spec.path)
  photo._uuid = spec.uuid or photo._uuid
  for k, v in pairs(spec.props or {}) do photo._props[k] = v end
  for _, path in ipairs(spec.keywords or {}) do photo._keywords[#photo._keywords + 1] = path end
  renders[#renders + 1] = { photo = photo, source = spec.path, fail = spec.render_fail }
end
FakeSdk.catalog.selected = FakeSdk.catalog.photos
-- The Library's active sources: [{"collection": name} | {"folder": path} | "kAllPhotos"].
FakeSdk.set_sources(scenario.sources)

local outcome = { record = FakeSdk.record }
local action = scenario.action or 'export'
local f = import('LrView').osFactory()

local function run_file(name)  -- Library menu items are scripts run for their effect
  return FakeSdk.real_dofile(plugin_dir .. '/' .. name)
end

-- Lightroom's restricted loader for Info.lua: only string, LOC, WIN_ENV, MAC_ENV, _VERSION.
local function load_info()
  local chunk = assert(FakeSdk.real_loadfile(plugin_dir .. '/Info.lua'))
  setfenv(chunk, { string = string, LOC = LOC, WIN_ENV = WIN_ENV, MAC_ENV = MAC_ENV, _VERSION = _VERSION })
  return chunk()
end

-- What the dialog shows of the order: the menus, and the values a preset keeps.
local function order_view(props)
  local function titles(items)
    local out = {}
    for i, item in ipairs(items or {}) do out[i] = item.title end
    return out
  end
  local view = { submit = props.aihd_submit, space = props.aihd_space, widgets = props.aihd_widgets,
                 space_items = props.aihd_space_shown and titles(props.aihd_space_items) or {}, slots = {},
                 note = props.aihd_order_note, cant_export = props.LR_cantExportBecause or cjson.null,
                 project = props.aihd_project, project_note = props.aihd_project_note }
  for i = 1, 10 do
    if props['aihd_widget' .. i .. '_shown'] then
      view.slots[#view.slots + 1] = { title = props['aihd_widget' .. i .. '_title'],
                                      items = titles(props['aihd_widget' .. i .. '_items']),
                                      value = props['aihd_widget' .. i .. '_value'] }
    end
  end
  return view
end

-- A person's choice in the dialog: the submit box, the service, the Property field, the space, or a widget by its
-- title; a menu's value only from its items, as a person picks it; or a preset chosen (its keys
-- set in a shuffled order, `seed` picks which).
local function choose(props, what, value, seed)
  local function pick(items_key, key)
    for _, item in ipairs(props[items_key] or {}) do
      if item.value == value then props[key] = value return end
    end
    error('the menu for ' .. what .. ' offers no ' .. tostring(value))
  end
  if what == 'submit' then props.aihd_submit = value
  elseif what == 'project' then props.aihd_project = value  -- typed in the Property field
  elseif what == 'service' then props.aihd_service = value
  elseif what == 'preset' then FakeSdk.apply_preset(props, value, seed)
  elseif what == 'space' then pick('aihd_space_items', 'aihd_space')
  else
    for i = 1, 10 do
      if props['aihd_widget' .. i .. '_shown'] and props['aihd_widget' .. i .. '_widget'] == what then
        return pick('aihd_widget' .. i .. '_items', 'aihd_widget' .. i .. '_value')
      end
    end
    error('the dialog shows no widget ' .. what)
  end
end

local ok, err = pcall(function()
  if action == 'export' or action == 'dialog' then
    local provider = require 'ExportServiceProvider'
    FakeSdk.check_provider(provider)
    local props = FakeSdk.property_table {  -- as the preset has them
      aihd_service = scenario.service or 'auto', aihd_addKeyword = scenario.add_keyword ~= false,
      aihd_submit = scenario.submit == true, aihd_space = scenario.space or '',
      aihd_widgets = scenario.widgets and cjson.encode(scenario.widgets) or '',
      aihd_project = scenario.project or '',
    }
    provider.startDialog(props)
    local sections = provider.sectionsForTopOfDialog(f, props)
    FakeSdk.check_sections(sections)
    outcome.dialog_at_start = props.aihd_status  -- startAsyncTask runs later, not inline
    FakeSdk.run_tasks()  -- the dialog: Lightroom does not quit in it
    outcome.dialog = { sections = #sections, status = props.aihd_status,
                       cant_export = props.LR_cantExportBecause or cjson.null, order = order_view(props),
                       steps = {} }
    for _, step in ipairs(scenario.choose or {}) do
      choose(props, step[1], step[2], step[3])
      FakeSdk.run_tasks()
      outcome.dialog.steps[#outcome.dialog.steps + 1] = order_view(props)
    end
    if action == 'export' then
      local context = FakeSdk.export_context(props, renders, scenario.render_dir, scenario.cancel_after)
      FakeSdk.refuse_writes_in_export = scenario.refuse_writes_in_export
      import('LrTasks').startAsyncTask(function()
        FakeSdk.exporting = true
        FakeSdk.call_with_context('export', function(function_context, export_context)
          -- Lightroom's export has ended once processRenderedPhotos returns, or throws
          function_context:addCleanupHandler(function() FakeSdk.exporting = false end)
          return provider.processRenderedPhotos(function_context, export_context)
        end, context)
      end, 'processRenderedPhotos')
      run_tasks()
      for _, path in ipairs(context._made) do os.remove(path) end  -- Lightroom's temp renders go
    end
  elseif action == 'info' then
    local info = require 'PluginInfoProvider'
    local props = {}
    info.startDialog(props)
    local sections = info.sectionsForTopOfDialog(f, props)
    FakeSdk.check_sections(sections)
    FakeSdk.run_tasks()
    if scenario.press then  -- the person clicks a button of the section
      FakeSdk.button(sections, scenario.press).action()
      FakeSdk.run_tasks()
    end
    for k, v in pairs(scenario.set_prefs or {}) do FakeSdk.prefs[k] = v end  -- the person ticks a box
    info.endDialog(props)
    outcome.info = props
  elseif action == 'load' then  -- Lightroom starts and loads the plug-in
    outcome.init_ran = FakeSdk.start(load_info(), run_file)
    run_tasks()
  elseif action == 'reload' then  -- Lightroom starts; later the plug-in is reloaded, its tasks alive
    local info = load_info()
    FakeSdk.start(info, run_file)
    FakeSdk.run_tasks(scenario.reload_after or 1, 'pause')
    FakeSdk.reload(info, run_file, plugin_dir)
    run_tasks()
  elseif action == 'history' or action == 'clear' or action == 'catch_up' then  -- a Library menu item
    local files = { history = 'ShowHistory.lua', clear = 'ClearFields.lua', catch_up = 'CatchUp.lua' }
    run_file(files[action])
    run_tasks()
  elseif action == 'load_all' then
    outcome.Info = load_info()
    for _, name in ipairs({ 'MetadataDefinition', 'Tagset' }) do
      outcome[name] = FakeSdk.real_dofile(plugin_dir .. '/' .. name .. '.lua')
    end
    outcome.exportPresetFields = require('ExportServiceProvider').exportPresetFields
  end
end)
if not ok then outcome.error = tostring(err) end
-- The person presses Ctrl/Cmd-Z this many times after the action.
outcome.undone = {}
for _ = 1, scenario.undo or 0 do outcome.undone[#outcome.undone + 1] = FakeSdk.undo() or cjson.null end

outcome.open_scopes = FakeSdk.quit and {} or FakeSdk.open_scopes()  -- quitting closes them
outcome.quit = FakeSdk.quit == true
outcome.prefs = FakeSdk.prefs
outcome.catalog_props = FakeSdk.catalog.props
outcome.scopes = {}
for i, scope in ipairs(FakeSdk.record.scopes) do
  outcome.scopes[i] = { title = scope._title or cjson.null, own = scope._own, captions = scope._captions,
                        polls = scope._polls }
end
FakeSdk.record.scopes = nil
outcome.log_path = FakeSdk.log_path('AIHomeDesign')
outcome.photos = {}
for _, photo in ipairs(FakeSdk.catalog.photos) do
  local stack = {}
  for i, p in ipairs(photo._stack or {}) do stack[i] = p.localIdentifier end
  outcome.photos[#outcome.photos + 1] = { id = photo.localIdentifier, path = photo._path, uuid = photo._uuid,
                                          props = photo._props, keywords = photo._keywords, stack = stack }
end
local fh = assert(FakeSdk.real_open(outcome_path, 'wb'))
fh:write(cjson.encode(outcome))
fh:close()

local broken = #FakeSdk.record.violations + #FakeSdk.record.task_errors + #outcome.open_scopes
if outcome.error or broken > 0 then
  io.stderr:write('the scenario broke the rules of the SDK:\n', tostring(outcome.error or ''), '\n')
  for _, list in ipairs({ FakeSdk.record.violations, FakeSdk.record.task_errors, outcome.open_scopes }) do
    for _, text in ipairs(list) do io.stderr:write('  ', text, '\n') end
  end
  os.exit(1)
end
