--[[ The export dialog's order part: "Submit the order (uses credits)", the space and the
service's widgets. Their menus come from the bridge's catalog (AihdOrder), read in a task of
its own so the dialog never waits for it, once per service per dialog. The preset keeps titles
(aihd_space, aihd_widgets as JSON text); the menus are dialog-only properties. While Submit is
on, Export stays disabled until the choice can be submitted (a mandatory widget chosen). ]]

local LrTasks = import 'LrTasks'
local LrView = import 'LrView'

local AihdLr = require 'AihdLr'
local AihdOrder = AihdLr.load 'AihdOrder'
local AihdServices = AihdLr.load 'AihdServices'

local AihdOrderDialog = {}

AihdOrderDialog.fields = {
  { key = 'aihd_submit', default = false },
  { key = 'aihd_space', default = '' },
  { key = 'aihd_widgets', default = '' },  -- JSON text: widget title -> item title
}

local function slot(i, what) return 'aihd_widget' .. i .. '_' .. what end

-- This dialog's catalogs by service (an answer, or { error = reason }, or 'loading'), its
-- bridge, whether the menus are being filled (their own changes then are not choices), and the
-- preset's values the catalog does not offer (said until another is chosen); the space and
-- widgets chosen for each service left, given back when it is chosen again; those of the service
-- shown as the dialog last settled them; the keys set from outside since (nil: none).
local catalogs, bridge, filling, unoffered, chosen, service_shown = {}, nil, false, {}, {}, nil
local settled, changed = {}, nil

-- Export is disabled while a reason is known: the bridge's first, then the order's.
function AihdOrderDialog.update(props)
  props.LR_cantExportBecause = props.aihd_bridge_problem or (props.aihd_submit and props.aihd_order_problem) or nil
end

local function menus_of(props)
  local catalog = catalogs[props.aihd_service]
  if type(catalog) ~= 'table' or catalog.error then return nil end
  return AihdOrder.menus(catalog, props.aihd_space)
end

local function note(props, menus, more)
  local service, catalog = props.aihd_service, catalogs[props.aihd_service]
  local title = AihdServices.title(service)
  if service == AihdServices.AUTO then
    return 'With Auto the bridge picks each photo\'s service, and the space by its rules; a service '
      .. 'that needs a style is submitted from its own preset.'
  elseif catalog == 'loading' then
    return 'Reading the spaces and widgets offered for ' .. title .. '...'
  elseif type(catalog) == 'table' and catalog.error then
    return 'The choices could not be read (' .. tostring(catalog.error) .. '); the preset\'s are sent '
      .. 'as they are, and the bridge checks them.'
  elseif not menus then
    return ''
  elseif more > 0 then
    return string.format('%d more widgets are not shown: set them in the bridge\'s preset.', more)
  end
  return props.aihd_submit and 'Each photo is one order: submitting uses credits.'
    or 'Only uploaded: nothing is made, and nothing charged, until the order is submitted.'
end

-- The widgets chosen in the menus shown: what the preset keeps, and whether it can be submitted.
local function remember(props)
  local menus, service = menus_of(props), props.aihd_service
  if menus then
    local widgets = {}
    for i = 1, AihdOrder.SLOTS do
      local title, value = props[slot(i, 'widget')], props[slot(i, 'value')]
      if props[slot(i, 'shown')] and title and value and value ~= '' then widgets[title] = value end
    end
    filling = true
    props.aihd_widgets = AihdOrder.widgets_text(widgets)
    filling = false
    local checked = {}
    for title, value in pairs(unoffered) do checked[title] = value end
    for title, value in pairs(widgets) do checked[title] = value end
    props.aihd_order_problem = AihdOrder.problem(menus, AihdServices.title(service), props.aihd_space, checked)
  elseif catalogs[service] == 'loading' then
    props.aihd_order_problem = 'Reading the choices for ' .. AihdServices.title(service) .. ' from the bridge...'
  else
    props.aihd_order_problem = nil
  end
  settled = { space = props.aihd_space, widgets = props.aihd_widgets }
  AihdOrderDialog.update(props)
end

-- Fill the menus from the catalog at hand (none for Auto, or before it is read).
local function show(props)
  local menus, widgets = menus_of(props), AihdOrder.widgets_from(props.aihd_widgets)
  local view = AihdOrder.dialog(menus, props.aihd_space, widgets)
  if menus then
    for title, value in pairs(select(2, AihdOrder.offered(menus, widgets))) do unoffered[title] = value end
  end
  filling = true
  props.aihd_space_items, props.aihd_space_shown = view.space_items, view.space_shown
  -- A space kept for a service that takes none is not sent with this one.
  props.aihd_space = (menus and not menus.space_required) and '' or view.space
  for i, s in ipairs(view.slots) do
    props[slot(i, 'title')], props[slot(i, 'items')], props[slot(i, 'widget')] = s.title, s.items, s.widget
    props[slot(i, 'value')], props[slot(i, 'shown')] = s.value, s.shown
  end
  props.aihd_order_note = note(props, menus, view.more)
  filling = false
  remember(props)
end

-- Read the catalog of the service chosen, once per dialog, in a task.
local function load(props)
  local service = props.aihd_service
  if service ~= AihdServices.AUTO and bridge and catalogs[service] == nil then
    catalogs[service] = 'loading'
    LrTasks.startAsyncTask(function()
      local catalog, err = bridge:catalog(service)
      catalogs[service] = catalog or { error = err }
      if props.aihd_service == service then show(props) end
    end, 'AI HomeDesign catalog')
  end
  show(props)
end

-- What changed from outside (the person's service, space or submit; a preset's keys, which
-- Lightroom sets one by one in an order of its own), taken together once they are all set.
-- Another service gets back its earlier space and widgets, unless they came with it (a preset).
local function settle(props)
  local keys = changed
  changed = nil
  if keys.aihd_service and props.aihd_service ~= service_shown then
    chosen[service_shown] = settled
    service_shown = props.aihd_service
    local before = chosen[service_shown]
    if before and not keys.aihd_space and not keys.aihd_widgets then
      filling = true
      props.aihd_space, props.aihd_widgets = before.space, before.widgets
      filling = false
    end
    load(props)
  else
    show(props)
  end
end

local function from_outside(props, key)
  return function()
    if filling then return end
    if not changed then
      changed = {}
      LrTasks.startAsyncTask(function() settle(props) end, 'AI HomeDesign dialog')
    end
    changed[key] = true
  end
end

function AihdOrderDialog.start(props)
  catalogs, bridge, unoffered, chosen, service_shown, changed = {}, nil, {}, {}, props.aihd_service, nil
  for _, key in ipairs({ 'aihd_service', 'aihd_space', 'aihd_widgets', 'aihd_submit' }) do
    props:addObserver(key, from_outside(props, key))
  end
  for i = 1, AihdOrder.SLOTS do
    props:addObserver(slot(i, 'value'), function()
      if filling then return end
      unoffered[props[slot(i, 'widget')] or ''] = nil  -- a choice of the person's own
      remember(props)
    end)
  end
  show(props)
end

-- The bridge answered (or not: nil): read the catalog again where it could not be read.
function AihdOrderDialog.connected(props, connected)
  bridge = connected
  for service, catalog in pairs(catalogs) do
    if type(catalog) == 'table' and catalog.error then catalogs[service] = nil end
  end
  load(props)
end

-- The rows of the dialog's section.
function AihdOrderDialog.rows(f)
  local bind, label = LrView.bind, LrView.share 'aihd_label'
  local rows = {
    f:row {
      f:static_text { title = '', width = label },
      f:checkbox { title = 'Submit the order (uses credits)', value = bind 'aihd_submit' },
    },
    f:row {
      f:static_text { title = 'Space:', alignment = 'right', width = label, visible = bind 'aihd_space_shown' },
      f:popup_menu { value = bind 'aihd_space', items = bind 'aihd_space_items', width_in_chars = 28,
                     enabled = bind 'aihd_submit', visible = bind 'aihd_space_shown' },
    },
  }
  for i = 1, AihdOrder.SLOTS do
    rows[#rows + 1] = f:row {
      f:static_text { title = bind(slot(i, 'title')), alignment = 'right', width = label,
                      visible = bind(slot(i, 'shown')) },
      f:popup_menu { value = bind(slot(i, 'value')), items = bind(slot(i, 'items')), width_in_chars = 28,
                     enabled = bind 'aihd_submit', visible = bind(slot(i, 'shown')) },
    }
  end
  rows[#rows + 1] = f:row {
    f:static_text { title = '', width = label },
    f:static_text { title = bind 'aihd_order_note', fill_horizontal = 1, height_in_lines = 2 },
  }
  return rows
end

return AihdOrderDialog
