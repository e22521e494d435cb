--[[ One export, start to end, with every Lightroom call passed in (so it runs under plain Lua).
The glue's own `for ... in exportContext:renditions()` loop calls job:hand_over for each photo;
job:finish(progress) then follows the batch until every photo is done or failed, and cancels
the rest in the bridge when the user cancels. Results come back keyed by source_id.

deps:
  bridge        an AihdBridge client
  total         number of photos
  fields        what to order (AihdServices.request_fields)
  progress      { set(portion, caption), canceled() -> bool }: the render loop's; finish() may
                be given another, since Lightroom ends the loop's progress with the loop
  sleep(s), now() -> seconds, log(text)
  poll_interval (s, default 1), patience (s the bridge may stay silent, default 120) ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdProgress = need 'AihdProgress'

local AihdExportJob = {}
AihdExportJob.__index = AihdExportJob

local HAND_OVER_TRIES = 3

local function failed(message)
  return { state = 'failed', error = message }
end

function AihdExportJob.new(deps)
  return setmetatable({ deps = deps, results = {}, item_to_source = {}, rendered = 0,
                        batch_id = nil, batch = nil, cancelled_in_bridge = false },
                      AihdExportJob)
end

function AihdExportJob:refresh()
  if not self.batch_id then return true end
  local answer, err = self.deps.bridge:batch(self.batch_id)
  if answer then self.batch = answer end
  return answer ~= nil, err
end

function AihdExportJob:show()
  self.deps.progress.set(AihdProgress.describe(self.deps.total, self.rendered, self.batch, self.deps.now()))
end

function AihdExportJob:cancel_in_bridge()
  if self.batch_id and not self.cancelled_in_bridge then
    self.cancelled_in_bridge = true
    self.deps.log('export cancelled: cancelling the rest of batch ' .. self.batch_id)
    self.deps.bridge:cancel(self.batch_id)
  end
end

-- One photo: wait for Lightroom's render (wait() -> ok, path_or_message), hand it over.
-- Returns why it failed when it failed at once (Lightroom shows it while the loop runs).
function AihdExportJob:hand_over(source_id, wait)
  local deps = self.deps
  local ok, path = wait()
  self.rendered = self.rendered + 1
  if not ok then
    self.results[source_id] = failed('Lightroom could not render it: ' .. tostring(path))
  else
    local answer, err
    for try = 1, HAND_OVER_TRIES do
      answer, err = deps.bridge:hand_over({ { path = path, source_id = source_id } }, deps.fields,
                                          self.batch_id)
      if answer then break end
      if try < HAND_OVER_TRIES then deps.sleep(try) end
    end
    if not answer then
      self.results[source_id] = failed(err)
    else
      self.batch_id = self.batch_id or answer.batch_id
      local item = answer.items[1]
      if item.state == 'failed' then
        self.results[source_id] = failed(item.error)
      else
        self.item_to_source[item.id] = source_id
      end
    end
  end
  self:refresh()
  self:show()
  local result = self.results[source_id]
  return result and result.error
end

-- Follow the batch until every photo handed over has ended; returns results, batch id.
-- `progress` (optional) takes over from deps.progress for the wait.
function AihdExportJob:finish(progress)
  local deps = self.deps
  deps.progress = progress or deps.progress
  local poll_interval, patience = deps.poll_interval or 1, deps.patience or 120
  if deps.progress.canceled() then self:cancel_in_bridge() end
  local silent_since
  while self.batch_id do
    local ok, err = self:refresh()
    if ok then
      silent_since = nil
      local all_final = true
      for _, item in ipairs(self.batch.items) do
        if not AihdProgress.is_final(item.state) then all_final = false end
      end
      if all_final then break end
    else
      silent_since = silent_since or deps.now()
      if deps.now() - silent_since > patience then
        deps.log('the bridge stopped answering: ' .. tostring(err))
        for _, source_id in pairs(self.item_to_source) do
          self.results[source_id] = failed('The bridge stopped answering before this photo was '
            .. 'sent; it keeps the photo and goes on when it runs again ("aihd-bridge status" shows it).')
        end
        return self.results, self.batch_id
      end
    end
    self:show()
    if deps.progress.canceled() then self:cancel_in_bridge() end
    deps.sleep(poll_interval)
  end
  for _, item in ipairs(self.batch and self.batch.items or {}) do
    local source_id = self.item_to_source[item.id]
    if source_id then self.results[source_id] = item end
  end
  deps.progress.set(1, 'Done')
  return self.results, self.batch_id
end

return AihdExportJob
