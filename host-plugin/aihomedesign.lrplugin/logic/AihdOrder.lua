--[[ The order after the upload, as the plugin sees it: the export dialog's space and widget
menus built from the bridge's catalog (GET /v1/catalog?service=), whether the choice lets the
order be submitted, what a hand-over asks for, the Status a photo shows as its order goes on,
and which results to bring into the catalog beside their source.

Presets keep titles ("Bedroom", {"Style": "Modern"}), never ids: the API's ids are opaque and
may change, and the bridge looks titles up in the catalog. A submit is a charge (credits). ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdJson = need 'AihdJson'
local AihdText = need 'AihdText'

local AihdOrder = {}

AihdOrder.SLOTS = 5  -- widget menus the dialog has room for; a service lists fewer

local function fold(text)
  return (tostring(text or ''):gsub('^%s+', ''):gsub('%s+$', ''):lower())
end

local function find(list, wanted)
  if fold(wanted) == '' then return nil end
  for _, entry in ipairs(list) do
    if fold(entry.title) == fold(wanted) or (entry.name and fold(entry.name) == fold(wanted)) then return entry end
  end
  return nil
end

local function titles(list)
  local out = {}
  for i, entry in ipairs(list) do out[i] = entry.title end
  return table.concat(out, ', ')
end

-- The widgets a preset keeps (JSON text: widget title -> item title), and back.
function AihdOrder.widgets_from(text)
  local widgets = AihdJson.decode(text or '')
  local out = {}
  if type(widgets) ~= 'table' then return out end
  for k, v in pairs(widgets) do
    if type(k) == 'string' and type(v) == 'string' and v ~= '' then out[k] = v end
  end
  return out
end

function AihdOrder.widgets_text(widgets)
  if next(widgets) == nil then return '' end
  return AihdJson.encode(widgets)
end

--[[ The menus of a service's catalog (the bridge's answer) with the space titled `space`:
{ service, space_required, spaces = { {title, value} }, space = the catalog's title of the
chosen space or nil, widgets = { {title, optional, items = { {title, value} }} } }. The widgets
are those of the chosen space; before one is chosen, those of the first space. ]]
function AihdOrder.menus(catalog, space)
  local menus = { service = catalog.service, space_required = catalog.space_required == true,
                  spaces = {}, widgets = {} }
  local spaces = catalog.spaces or {}
  for i, s in ipairs(spaces) do
    local title = s.title or s.name
    menus.spaces[i] = { title = title, value = title, name = s.name }
  end
  local chosen = find(menus.spaces, space)
  menus.space = chosen and chosen.title
  local by_space = catalog.widgets or {}
  local list = by_space[chosen and chosen.name or ''] or (spaces[1] and by_space[spaces[1].name]) or {}
  for i, w in ipairs(list) do
    local items = {}
    for j, item in ipairs(w.items or {}) do items[j] = { title = item.title, value = item.title } end
    -- Only a widget the catalog says is not optional is mandatory: one it says nothing of never
    -- keeps Export disabled.
    menus.widgets[i] = { title = w.title, optional = w.is_optional ~= false, items = items }
  end
  return menus
end

-- `widgets` (widget title -> item title) sorted out against the menus: those offered, in the
-- catalog's spelling, and the values of widgets shown but not offered (a preset made with
-- another catalog), to say so rather than forget them. A widget the menus do not show (a
-- choice made for another service) is in neither: it is not sent with this service.
function AihdOrder.offered(menus, widgets)
  local offered, unoffered = {}, {}
  for title, value in pairs(widgets) do
    local widget = find(menus.widgets, title)
    local item = widget and find(widget.items, value)
    if item then offered[widget.title] = item.title elseif widget then unoffered[widget.title] = value end
  end
  return offered, unoffered
end

-- Why the order cannot be submitted with this choice (a sentence for the Export button), or nil.
function AihdOrder.problem(menus, service_title, space, widgets)
  if menus.space_required then
    if fold(space) == '' then
      return 'Choose a space for ' .. service_title .. ', or untick "Submit the order".'
    end
    if not menus.space then
      return string.format("Space '%s' is not offered for %s; choose %s.", space, service_title, titles(menus.spaces))
    end
  end
  for _, widget in ipairs(menus.widgets) do
    local value
    for title, v in pairs(widgets) do if fold(title) == fold(widget.title) then value = v end end
    if value and not find(widget.items, value) then
      return string.format("%s '%s' is not offered; choose %s.", widget.title, value, titles(widget.items))
    end
    if not value and not widget.optional then
      return 'Choose a ' .. widget.title .. ': ' .. service_title .. ' needs one to submit the order.'
    end
  end
  return nil
end

local NONE = ''

-- What the dialog's menus show: the space menu's items, and for each widget slot its title,
-- items, value and whether it shows. `menus` nil: none shows (Auto, or no catalog yet).
function AihdOrder.dialog(menus, space, widgets)
  local view = { space_items = { { title = 'Choose a space...', value = NONE } }, space_shown = false,
                 space = menus and menus.space or space or NONE, slots = {}, more = 0 }
  if menus and menus.space_required then
    view.space_shown = true
    for i, s in ipairs(menus.spaces) do view.space_items[i + 1] = { title = s.title, value = s.value } end
  end
  local list = menus and menus.widgets or {}
  local offered = menus and AihdOrder.offered(menus, widgets) or {}
  for i = 1, AihdOrder.SLOTS do
    local widget = list[i]
    local slot = { shown = widget ~= nil, title = '', items = { { title = '', value = NONE } }, value = NONE }
    if widget then
      slot.title = widget.title .. (widget.optional and ':' or ' (required):')
      slot.items = { { title = widget.optional and '(none)' or 'Choose...', value = NONE } }
      for j, item in ipairs(widget.items) do slot.items[j + 1] = item end
      slot.value = offered[widget.title] or NONE
      slot.widget = widget.title
    end
    view.slots[i] = slot
  end
  view.more = math.max(0, #list - AihdOrder.SLOTS)
  return view
end

-- What a hand-over asks for each item: submit or not (the dialog's choice wins over the
-- bridge's preset), and with a submit the space and widgets chosen.
function AihdOrder.request(submit, space, widgets)
  if not submit then return { submit = false } end
  local fields = { submit = true }
  if fold(space) ~= '' then fields.space = space end
  if next(widgets or {}) then fields.widgets = widgets end
  return fields
end

-- The Status a photo shows for an item the bridge uploaded: Ordered (uploaded, not submitted),
-- Submitted, Processing (with what it waits for, when the bridge says: a source folder it cannot
-- write into, its volume offline), Finished (n results), or Failed: reason.
function AihdOrder.status(item)
  local state = item.order_state
  if state == 'submitting' then return 'Submitted' end
  if state == 'processing' then
    local waiting = type(item.order_error) == 'string' and item.order_error ~= '' and item.order_error
    return waiting and AihdText.bound('Processing, ' .. waiting) or 'Processing'
  end
  if state == 'finished' then
    local n = #(item.results or {})
    return string.format('Finished (%d result%s)', n, n == 1 and '' or 's')
  end
  if state == 'failed' then return AihdText.bound('Failed: ' .. tostring(item.order_error or 'the order failed')) end
  return 'Ordered'
end

-- Whether the bridge is still working on the order of an uploaded item.
function AihdOrder.pending(item)
  return item.order_state == 'submitting' or item.order_state == 'processing'
end

--[[ The results of `item` to bring into the catalog, each once: those on disk (`on_disk(path)`)
and not in the catalog yet (`in_catalog(path)`: Lightroom finds a photo by its path), and not
taken already in this plan (`taken`, a set of paths). Returns a list of { path, fields }, the
fields for the result photo: its order id, service and which result it is. ]]
function AihdOrder.imports(item, in_catalog, on_disk, taken, now)
  local out, results = {}, item.results or {}
  for i, result in ipairs(results) do
    local path = result.path
    if type(path) == 'string' and not taken[path] and on_disk(path) and not in_catalog(path) then
      taken[path] = true
      out[#out + 1] = { path = path, fields = {
        orderId = item.order_id, service = item.service_name, uploadedAt = now,
        status = string.format('Result %d of %d', tonumber(result.sequence) or i, #results) } }
    end
  end
  return out
end

return AihdOrder
