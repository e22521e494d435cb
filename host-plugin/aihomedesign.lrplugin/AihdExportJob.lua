--[[ One export, start to end, with every Lightroom call passed in (so it runs under plain Lua):
render each photo, hand it to the bridge, follow the batch until every photo is done or
failed, cancel the rest when the user cancels. Returns the results keyed by source_id.

deps:
  bridge        an AihdBridge client
  renditions()  iterator of { source_id, wait() -> ok, path_or_message }
  total         number of photos
  fields        what to order (AihdServices.request_fields)
  progress      { set(portion, caption), canceled() -> bool }
  sleep(s), now() -> seconds, log(text)
  poll_interval (s, default 1), patience (s the bridge may stay silent, default 120) ]]

local AihdProgress = require 'AihdProgress'

local AihdExportJob = {}

local HAND_OVER_TRIES = 3

local function failed(message)
  return { state = 'failed', error = message }
end

function AihdExportJob.run(deps)
  local results, item_to_source, batch_id, batch = {}, {}, nil, nil
  local rendered, cancelled_in_bridge = 0, false
  local poll_interval, patience = deps.poll_interval or 1, deps.patience or 120

  local function refresh()
    if not batch_id then return true end
    local answer, err = deps.bridge:batch(batch_id)
    if answer then batch = answer end
    return answer ~= nil, err
  end

  local function show()
    deps.progress.set(AihdProgress.describe(deps.total, rendered, batch, deps.now()))
  end

  local function cancel_in_bridge()
    if batch_id and not cancelled_in_bridge then
      cancelled_in_bridge = true
      deps.log('export cancelled: cancelling the rest of batch ' .. batch_id)
      deps.bridge:cancel(batch_id)
    end
  end

  for rendition in deps.renditions() do
    if deps.progress.canceled() then break end
    local ok, path = rendition.wait()
    rendered = rendered + 1
    if not ok then
      results[rendition.source_id] = failed('Lightroom could not render it: ' .. tostring(path))
    else
      local answer, err
      for try = 1, HAND_OVER_TRIES do
        answer, err = deps.bridge:hand_over({ { path = path, source_id = rendition.source_id } },
                                            deps.fields, batch_id)
        if answer then break end
        if try < HAND_OVER_TRIES then deps.sleep(try) end
      end
      if not answer then
        results[rendition.source_id] = failed(err)
      else
        batch_id = batch_id or answer.batch_id
        local item = answer.items[1]
        if item.state == 'failed' then
          results[rendition.source_id] = failed(item.error)
        else
          item_to_source[item.id] = rendition.source_id
        end
      end
    end
    refresh()
    show()
  end
  if deps.progress.canceled() then cancel_in_bridge() end

  -- Follow the batch until every photo handed over has ended.
  local silent_since
  while batch_id do
    local ok, err = refresh()
    if ok then
      silent_since = nil
      local all_final = true
      for _, item in ipairs(batch.items) do
        if not AihdProgress.is_final(item.state) then all_final = false end
      end
      if all_final then break end
    else
      silent_since = silent_since or deps.now()
      if deps.now() - silent_since > patience then
        deps.log('the bridge stopped answering: ' .. tostring(err))
        for _, source_id in pairs(item_to_source) do
          if not results[source_id] then
            results[source_id] = failed('The bridge stopped answering before this photo was sent; '
              .. 'it keeps the photo and goes on when it runs again ("aihd-bridge status" shows it).')
          end
        end
        return results, batch_id
      end
    end
    show()
    if deps.progress.canceled() then cancel_in_bridge() end
    deps.sleep(poll_interval)
  end

  for _, item in ipairs(batch and batch.items or {}) do
    local source_id = item_to_source[item.id]
    if source_id then results[source_id] = item end
  end
  deps.progress.set(1, 'Done')
  return results, batch_id
end

return AihdExportJob
