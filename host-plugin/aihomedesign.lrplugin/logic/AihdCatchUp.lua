--[[ Catch-up: what the bridge finished for this catalog while no export dialog waited for it
(Lightroom closed, the export stopped waiting, the network away) reaches the photos anyway.
The bridge numbers every change; the plugin keeps, per catalog, the number it has read up to
(its cursor) and asks GET /v1/changes for what came after: when nothing did, that is one small
request. Each page of changes is written in one catalog write, and the cursor moves on only
once it is written.

The same path brings in the results of submitted orders: each finished result is imported
beside its source photo in the page's write (AihdTagging.plan, AihdOrder.imports).

The batches that still hold photos not ended, or orders the bridge still follows, are kept
(`pending`, by batch id) so that a follow-up, while Lightroom stays open, asks again now and
then until they have ended. ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdCatalog = need 'AihdCatalog'
local AihdOrder = need 'AihdOrder'
local AihdProgress = need 'AihdProgress'
local AihdTagging = need 'AihdTagging'

local AihdCatchUp = {}

AihdCatchUp.PAGE = 500

--[[ One catch-up, page after page until the bridge has no more. deps:
  bridge, client, catalog_id
  cursor            the cursor kept (nil: from the start)
  save(cursor)      keeps the new cursor once a page is written
  find(wanted)      wanted: a list of { local_id, uuid (when the item carries one) } -> { [local_id]
                    = photo } for those in the catalog
  current(photo, field), options: as AihdTagging.plan takes them
  write(writes)     -> ok, err, { imported = n, failed = { text } }: one catalog write of a plan
  pending           { [batch_id] = true }: gains the batches seen with photos or orders not ended
  page              items per page (default AihdCatchUp.PAGE)
Returns { pages, items, written, imported, import_failures, cursor }, or nil, a reason, and
whether the bridge was away. ]]
function AihdCatchUp.sync(deps)
  local summary = { pages = 0, items = 0, written = 0, imported = 0, import_failures = {},
                    cursor = deps.cursor or 0 }
  repeat
    local answer, err, away = deps.bridge:changes(deps.client, summary.cursor, deps.page or AihdCatchUp.PAGE)
    if not answer then return nil, err, away end
    local results, wanted, by_local = {}, {}, {}
    for _, item in ipairs(answer.items or {}) do
      local local_id, uuid = AihdCatalog.local_id(deps.catalog_id, item.source_id, false)
      if local_id then
        if results[item.source_id] == nil then wanted[#wanted + 1] = { local_id = local_id, uuid = uuid } end
        results[item.source_id], by_local[local_id] = item, item.source_id  -- the last change wins
      end
      if (not AihdProgress.is_final(item.state) or AihdOrder.pending(item)) and item.batch_id then
        deps.pending[item.batch_id] = true
      end
    end
    if #wanted > 0 then
      local photos = {}
      for local_id, photo in pairs(deps.find(wanted)) do photos[by_local[local_id]] = photo end
      local writes = AihdTagging.plan(photos, results, deps.current, deps.options)
      if #writes > 0 then
        local ok, why, report = deps.write(writes)
        if not ok then return nil, why, false end
        summary.written = summary.written + #writes
        summary.imported = summary.imported + (report and report.imported or 0)
        for _, text in ipairs(report and report.failed or {}) do
          summary.import_failures[#summary.import_failures + 1] = text
        end
      end
    end
    summary.pages, summary.items = summary.pages + 1, summary.items + #(answer.items or {})
    if answer.cursor ~= summary.cursor then
      summary.cursor = answer.cursor
      deps.save(answer.cursor)
    end
  until not answer.more
  return summary
end

-- Which of the pending batches have ended, their orders too (or the bridge no longer knows
-- them): a list of ids. Asked with the catalog's cursor, so each answer carries few items or none.
function AihdCatchUp.ended(bridge, pending, cursor)
  local ended = {}
  for batch_id in pairs(pending) do
    local answer, _, away = bridge:batch(batch_id, cursor)
    local finished = answer and answer.finished
    if answer and answer.orders_finished ~= nil then finished = answer.orders_finished end  -- older bridges lack it
    if finished or (not answer and not away) then ended[#ended + 1] = batch_id end
  end
  table.sort(ended)
  return ended
end

-- The pending batches as plugin prefs keep them (a string of ids), and back.
function AihdCatchUp.pending_text(pending)
  local ids = {}
  for batch_id in pairs(pending) do ids[#ids + 1] = batch_id end
  table.sort(ids)
  return table.concat(ids, ' ')
end

function AihdCatchUp.pending_from(text)
  local pending = {}
  for batch_id in tostring(text or ''):gmatch('%S+') do pending[batch_id] = true end
  return pending
end

return AihdCatchUp
