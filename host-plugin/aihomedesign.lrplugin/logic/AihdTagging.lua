--[[ The tagging plan: what to write on each source photo once the bridge has answered.
Results are matched to photos by source_id (AihdCatalog), never by position.
Every value fits a searchable field (AihdText.bound); the earlier orders keep the newest that
fit, and the bridge keeps them all ("Order History of Selected Photos" shows them). ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdOrder = need 'AihdOrder'
local AihdServices = need 'AihdServices'
local AihdText = need 'AihdText'

local AihdTagging = {}

AihdTagging.FIELDS = { 'orderId', 'service', 'status', 'uploadedAt', 'orderHistory' }

AihdTagging.WAITING = 'Waiting in the bridge; its order id follows by itself'

-- What the photo's fields say of `item` (a batch item, or { state = 'waiting' }); nil when the
-- photo says it already.
local function fields_for(photo, item, current, options)
  local fields = {}
  if item.state == 'done' and item.order_id then
    local previous, status = current(photo, 'orderId'), AihdOrder.status(item)
    if previous == item.order_id then  -- the same order further on: only its Status moves
      if current(photo, 'status') == status then return nil end
      return { status = status }
    end
    if previous and previous ~= '' and previous ~= item.order_id then
      local entries, more = AihdText.split(current(photo, 'orderHistory'))
      table.insert(entries, 1, string.format('%s (%s, %s)', previous,
        AihdServices.title(current(photo, 'service')), current(photo, 'uploadedAt') or '?'))
      fields.orderHistory = AihdText.join_fitting(entries, nil, more)
    end
    fields.orderId = item.order_id
    fields.service = item.service_name
    fields.status = status
    fields.uploadedAt = options.time_of and options.time_of(item) or options.now
  elseif item.state == 'cancelled' then
    fields.status = 'Cancelled before upload'
  elseif item.state == 'failed' then
    fields.status = 'Failed: ' .. tostring(item.error or item.state)
  else  -- handed over, not ended: queued, uploading, or still there when the export stopped waiting
    fields.status = AihdTagging.WAITING
  end
  for name, value in pairs(fields) do fields[name] = AihdText.bound(value) end
  if fields.orderId == nil and current(photo, 'status') == fields.status then return nil end
  return fields
end

-- photos: { [source_id] = photo }; results: { [source_id] = item from the bridge };
-- current(photo, field) -> the value stored now; options.add_keyword; options.now (text), or
-- options.time_of(item) -> text; options.in_catalog(path) and options.on_disk(path), to bring
-- the order's results in (AihdOrder.imports; without them, none); options.cleared: a set of order
-- ids whose fields the person cleared (nothing of theirs is written again). Returns a list of { photo,
-- source_id, fields = {...}, keyword = {path} or nil, imports = { {path, fields, keyword} } },
-- leaving out photos whose fields say it all already and that have no result to bring in.
function AihdTagging.plan(photos, results, current, options)
  local writes, taken = {}, {}
  for source_id, photo in pairs(photos) do
    local item = results[source_id]
    if item and item.order_id and (options.cleared or {})[item.order_id] then item = nil end  -- cleared by the person
    local fields = item and fields_for(photo, item, current, options) or {}
    local imports = (item and item.state == 'done' and options.in_catalog)
      and AihdOrder.imports(item, options.in_catalog, options.on_disk, taken, options.now or '') or {}
    if next(fields) or #imports > 0 then
      local write = { photo = photo, source_id = source_id, fields = fields, imports = imports }
      local keyword = options.add_keyword and item.order_id and AihdServices.keyword_path(item.service_name, item.order_id)
      if fields.orderId then write.keyword = keyword end
      for _, add in ipairs(imports) do add.keyword = keyword or nil end
      writes[#writes + 1] = write
    end
  end
  table.sort(writes, function(a, b) return tostring(a.source_id) < tostring(b.source_id) end)
  return writes
end

-- The text of the "order history" dialog for one photo: its fields, then the bridge's record.
function AihdTagging.history_lines(name, fields, items)
  local lines = { name }
  if fields.orderId then
    lines[#lines + 1] = string.format('  order %s, %s, %s (%s)', fields.orderId,
      AihdServices.title(fields.service), fields.status or '', fields.uploadedAt or '?')
  else
    lines[#lines + 1] = '  no order yet' .. (fields.status and (' (' .. fields.status .. ')') or '')
  end
  if fields.orderHistory and fields.orderHistory ~= '' then
    lines[#lines + 1] = '  earlier: ' .. fields.orderHistory
  end
  for _, item in ipairs(items or {}) do
    lines[#lines + 1] = string.format('  bridge: %s %s %s', item.state,
      AihdServices.title(item.service_name), item.order_id or item.error or '')
  end
  return lines
end

return AihdTagging
