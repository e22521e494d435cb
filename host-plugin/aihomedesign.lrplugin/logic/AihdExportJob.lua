--[[ One export, start to end, with every Lightroom call passed in (so it runs under plain Lua).
The glue's own `for ... in exportContext:renditions()` loop calls job:hand_over for each photo;
rendered photos go to the bridge a few at a time, into one batch. job:finish(progress) then
follows the batch, polling with the bridge's cursor (only what changed comes back), until every
photo has ended, the user cancels (the rest is cancelled in the bridge), or `wait_limit` passes:
then the dialog ends and the photos still in the bridge get their order ids later, by catch-up
(AihdCatchUp). A bridge that is slow or silent fails no photo: it keeps them.

deps:
  bridge        an AihdBridge client
  client        what the plugin calls itself (AihdCatalog.client)
  total         number of photos
  fields        what to order (AihdServices.request_fields)
  item_fields   what each photo asks of its order (AihdOrder.request: submit, space, widgets)
  progress      { set(portion, caption), canceled() -> bool }: the render loop's; finish() may
                be given another, since Lightroom ends the loop's progress with the loop
  sleep(s), now() -> seconds (wall clock), clock(epoch) -> "14:02", log(text)
  poll_interval (s, default 1), wait_limit (s the wait may last, default 600),
  group (photos per hand-over at most, default 10), group_seconds (s between hand-overs,
  default 1: a photo rendered sooner waits for the next one, with those rendered meanwhile) ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdProgress = need 'AihdProgress'

local AihdExportJob = {}
AihdExportJob.__index = AihdExportJob

local HAND_OVER_TRIES = 3
AihdExportJob.WAIT_LIMIT = 600

local function failed(message)
  return { state = 'failed', error = message }
end

function AihdExportJob.new(deps)
  return setmetatable({ deps = deps, results = {}, item_to_source = {}, items = {}, rendered = 0,
                        buffer = {}, last_hand_over = nil, batch_id = nil, batch = nil, cursor = nil,
                        last_poll = nil, cancelled_in_bridge = false, timed_out = false },
                      AihdExportJob)
end

-- One poll: only the items changed since the last one, and the batch's totals.
function AihdExportJob:refresh()
  if not self.batch_id then return true end
  local answer, err = self.deps.bridge:batch(self.batch_id, self.cursor)
  self.last_poll = self.deps.now()
  if not answer then return false, err end
  for _, item in ipairs(answer.items or {}) do self.items[item.id] = item end
  self.batch, self.cursor = answer, answer.cursor
  return true
end

function AihdExportJob:show()
  self.deps.progress.set(AihdProgress.describe(self.deps.total, self.rendered, self.batch, self.deps.clock))
end

-- The user cancelled: what is not handed over yet stays here, the rest is cancelled in the bridge.
function AihdExportJob:cancel_in_bridge()
  for _, handed in ipairs(self.buffer) do self.results[handed.source_id] = { state = 'cancelled' } end
  self.buffer = {}
  if self.batch_id and not self.cancelled_in_bridge then
    self.cancelled_in_bridge = true
    self.deps.log('export cancelled: cancelling the rest of batch ' .. self.batch_id)
    self.deps.bridge:cancel(self.batch_id)
  end
end

-- Hands the rendered photos waiting in the buffer over in one call. Returns the failures
-- known at once: a list of { source_id, error }.
function AihdExportJob:flush()
  local deps, buffer = self.deps, self.buffer
  self.buffer = {}
  if #buffer == 0 then return {} end
  self.last_hand_over = deps.now()
  local answer, err
  for try = 1, HAND_OVER_TRIES do
    answer, err = deps.bridge:hand_over(buffer, deps.fields, deps.client, self.batch_id)
    if answer then break end
    if try < HAND_OVER_TRIES then deps.sleep(try) end
  end
  local failures = {}
  for i, handed in ipairs(buffer) do
    local item = answer and answer.items[i]
    if not item then
      self.results[handed.source_id] = failed(err or 'the bridge did not take it')
    elseif item.state == 'failed' then
      self.results[handed.source_id] = failed(item.error)
    else
      self.item_to_source[item.id] = handed.source_id
    end
    local result = self.results[handed.source_id]
    if result then failures[#failures + 1] = { source_id = handed.source_id, error = result.error } end
  end
  if answer then self.batch_id = self.batch_id or answer.batch_id end
  self:refresh()
  return failures
end

-- One photo: wait for Lightroom's render (wait() -> ok, path_or_message), then keep it for the
-- next hand-over, with `photo_fields` of its own (its name, where its results go). Returns the
-- failures known now, this photo's or earlier ones' (Lightroom lists them while the loop runs):
-- a list of { source_id, error }.
function AihdExportJob:hand_over(source_id, wait, photo_fields)
  local deps = self.deps
  local ok, path = wait()
  self.rendered = self.rendered + 1
  local failures = {}
  if not ok then
    self.results[source_id] = failed('Lightroom could not render it: ' .. tostring(path))
    failures[1] = { source_id = source_id, error = self.results[source_id].error }
  else
    local item = { path = path, source_id = source_id }
    for k, v in pairs(deps.item_fields or {}) do item[k] = v end
    for k, v in pairs(photo_fields or {}) do item[k] = v end
    self.buffer[#self.buffer + 1] = item
  end
  if #self.buffer >= (deps.group or 10) or self.rendered >= deps.total or not self.last_hand_over
      or deps.now() - self.last_hand_over >= (deps.group_seconds or 1) then
    for _, failure in ipairs(self:flush()) do failures[#failures + 1] = failure end
  elseif self.last_poll and deps.now() - self.last_poll >= (deps.poll_interval or 1) then
    self:refresh()
  end
  self:show()
  return failures
end

-- Follow the batch until every photo handed over has ended, or the wait limit passed (then
-- `self.timed_out`). Returns results keyed by source_id (state 'waiting' for those the bridge
-- still holds) and the batch id. `progress` (optional) takes over from deps.progress.
function AihdExportJob:finish(progress)
  local deps = self.deps
  deps.progress = progress or deps.progress
  self:flush()
  local poll_interval, limit = deps.poll_interval or 1, deps.wait_limit or AihdExportJob.WAIT_LIMIT
  local started = deps.now()
  if deps.progress.canceled() then self:cancel_in_bridge() end
  while self.batch_id and not (self.batch and self.batch.finished) do
    if deps.now() - started >= limit then
      self.timed_out = true
      deps.log(string.format('stopped waiting after %d s; batch %s goes on in the bridge', limit, self.batch_id))
      break
    end
    deps.sleep(poll_interval)
    local ok, err = self:refresh()
    if not ok then deps.log('the bridge did not answer: ' .. tostring(err)) end
    self:show()
    if deps.progress.canceled() then self:cancel_in_bridge() end
  end
  for item_id, source_id in pairs(self.item_to_source) do
    local item = self.items[item_id]
    self.results[source_id] = (item and AihdProgress.is_final(item.state)) and item or { state = 'waiting' }
  end
  if not self.timed_out then deps.progress.set(1, 'Done') end
  return self.results, self.batch_id
end

return AihdExportJob
