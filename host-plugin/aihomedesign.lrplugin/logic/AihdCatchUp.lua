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

-- Takes a page of changes into `into` ({ latest = { [local_id] = { item, uuid } }, order = { local_id }
-- }): the last change of each photo wins, whichever form of source id it came under; the
-- batches still going join `pending`.
local function gather(deps, items, into)
  for _, item in ipairs(items) do
    local local_id, uuid = AihdCatalog.local_id(deps.catalog_id, item.source_id, false)
    if local_id then
      local before = into.latest[local_id]
      if not before then into.order[#into.order + 1] = local_id end
      into.latest[local_id] = { item = item, uuid = uuid or (before and before.uuid) }
    end
    if (not AihdProgress.is_final(item.state) or AihdOrder.pending(item)) and item.batch_id then
      deps.pending[item.batch_id] = true
    end
  end
end

-- Plans and writes what the photos of `gathered` lack, `size` photos per catalog write.
-- Returns true, or nil and why.
local function write_gathered(deps, summary, gathered, size)
  for first = 1, #gathered.order, size do
    local wanted, results, source_of = {}, {}, {}
    for i = first, math.min(first + size - 1, #gathered.order) do
      local local_id = gathered.order[i]
      local entry = gathered.latest[local_id]
      wanted[#wanted + 1] = { local_id = local_id, uuid = entry.uuid }
      results[entry.item.source_id], source_of[local_id] = entry.item, entry.item.source_id
    end
    local photos = {}
    for local_id, photo in pairs(deps.find(wanted)) do photos[source_of[local_id]] = photo end
    local writes = AihdTagging.plan(photos, results, deps.current, deps.options)
    if #writes > 0 then
      local ok, why, report = deps.write(writes)
      if not ok then return nil, why end
      summary.written = summary.written + #writes
      summary.imported = summary.imported + (report and report.imported or 0)
      for _, text in ipairs(report and report.failed or {}) do
        summary.import_failures[#summary.import_failures + 1] = text
      end
    end
  end
  return true
end

--[[ One catch-up, page after page until the bridge has no more. deps:
  bridge, client, catalog_id
  cursor            the cursor kept (nil: from the start)
  reconcile         from the start of the history, every page read before any is written: a photo
                    gets only its latest order (an older one, on an earlier page, is not replayed
                    over it), and only what it lacks
  save(cursor)      keeps the new cursor once what came before it is written
  find(wanted)      wanted: a list of { local_id, uuid (when the item carries one) } -> { [local_id]
                    = photo } for those in the catalog
  current(photo, field), options: as AihdTagging.plan takes them
  write(writes)     -> ok, err, { imported = n, failed = { text } }: one catalog write of a plan
  pending           { [batch_id] = true }: gains the batches seen with photos or orders not ended
  page              items per page, and photos per write (default AihdCatchUp.PAGE)
Returns { pages, items, written, imported, import_failures, cursor }, or nil, a reason, and
whether the bridge was away. ]]
function AihdCatchUp.sync(deps)
  local summary = { pages = 0, items = 0, written = 0, imported = 0, import_failures = {},
                    cursor = deps.cursor or 0 }
  local size = deps.page or AihdCatchUp.PAGE
  local gathered = { latest = {}, order = {} }
  repeat
    local answer, err, away = deps.bridge:changes(deps.client, summary.cursor, size)
    if not answer then return nil, err, away end
    if not deps.reconcile then gathered = { latest = {}, order = {} } end
    gather(deps, answer.items or {}, gathered)
    summary.pages, summary.items = summary.pages + 1, summary.items + #(answer.items or {})
    if not deps.reconcile then
      local ok, why = write_gathered(deps, summary, gathered, size)
      if not ok then return nil, why, false end
      if answer.cursor ~= summary.cursor then deps.save(answer.cursor) end
    end
    summary.cursor = answer.cursor
  until not answer.more
  if deps.reconcile then
    local ok, why = write_gathered(deps, summary, gathered, size)
    if not ok then return nil, why, false end
    deps.save(summary.cursor)
  end
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

-- A set of ids (pending batches, cleared orders) as plugin prefs keep it (a string), and back.
function AihdCatchUp.ids_text(set)
  local ids = {}
  for id in pairs(set) do ids[#ids + 1] = id end
  table.sort(ids)
  return table.concat(ids, ' ')
end

function AihdCatchUp.ids_from(text)
  local set = {}
  for id in tostring(text or ''):gmatch('%S+') do set[id] = true end
  return set
end

return AihdCatchUp
