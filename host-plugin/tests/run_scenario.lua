--[[ Runs the real plugin files against the fake SDK, as one scenario, and writes what happened.
usage: lua5.1 run_scenario.lua <plugin dir> <scenario.json> <outcome.json> ]]

local plugin_dir, scenario_path, outcome_path = arg[1], arg[2], arg[3]
local here = arg[0]:match('^(.*)/[^/]+$') or '.'
package.path = plugin_dir .. '/?.lua;' .. here .. '/?.lua;' .. package.path

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
for k, v in pairs(scenario.prefs or {}) do FakeSdk.prefs[k] = v end

local renders = {}
for i, spec in ipairs(scenario.photos or {}) do
  local photo = FakeSdk.photo(spec.id or (1000 + i), spec.path)
  for k, v in pairs(spec.props or {}) do photo.props[k] = v end
  renders[#renders + 1] = { photo = photo, source = spec.path, fail = spec.render_fail }
end
FakeSdk.catalog.selected = FakeSdk.catalog.photos

local outcome = { record = FakeSdk.record }
local action = scenario.action or 'export'

local function run_file(name)  -- Library menu items are scripts run for their effect
  dofile(plugin_dir .. '/' .. name)
end

if action == 'export' or action == 'dialog' then
  local provider = require 'ExportServiceProvider'
  local props = { aihd_service = scenario.service or 'auto', aihd_addKeyword = scenario.add_keyword ~= false }
  provider.startDialog(props)
  local sections = provider.sectionsForTopOfDialog(import('LrView').osFactory(), props)
  outcome.dialog = { sections = #sections, status = props.aihd_status,
                     cant_export = props.LR_cantExportBecause or cjson.null }
  if action == 'export' then
    local context = FakeSdk.export_context(props, renders, scenario.render_dir, scenario.cancel_after)
    provider.processRenderedPhotos({}, context)
    for _, path in ipairs(context.made) do os.remove(path) end  -- Lightroom's temp renders go
  end
elseif action == 'info' then
  local info = require 'PluginInfoProvider'
  local props = {}
  info.startDialog(props)
  info.sectionsForTopOfDialog(import('LrView').osFactory(), props)
  outcome.info = props
elseif action == 'history' then
  run_file('ShowHistory.lua')
elseif action == 'clear' then
  run_file('ClearFields.lua')
elseif action == 'load_all' then
  for _, name in ipairs({ 'Info', 'MetadataDefinition', 'Tagset' }) do
    outcome[name] = dofile(plugin_dir .. '/' .. name .. '.lua')
  end
end

outcome.photos = {}
for _, photo in ipairs(FakeSdk.catalog.photos) do
  outcome.photos[#outcome.photos + 1] = { id = photo.localIdentifier, path = photo.path,
                                          props = photo.props, keywords = photo.keywords }
end
local fh = assert(io.open(outcome_path, 'wb'))
fh:write(cjson.encode(outcome))
fh:close()
