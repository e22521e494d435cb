--[[ The darktable storage's logic, with no darktable in it: the aihd-bridge command lines,
their answers, and what each exported image gets (tag, notes line, or the reason it failed).
Runs under plain Lua 5.4 in the tests. Paths of photos never go through a shell: they go in
an items file (UTF-8 JSON) that `aihd-bridge upload --items` reads, so spaces, quotes and
non-ASCII names need no quoting and survive Windows' code pages. ]]

local AihdJson = require 'AihdJson'

local M = {}

M.TAG_ROOT = 'AI HomeDesign'
M.CLIENT = 'darktable'
M.NO_BRIDGE_EXIT = 3          -- `aihd-bridge upload --bridge-only` when no bridge runs
local NOT_FOUND_EXITS = { [127] = true, [9009] = true }  -- sh, cmd.exe: no such command

-- Used when `aihd-bridge presets --json` cannot be asked: the presets shipped with the bridge.
M.BUILTIN_PRESETS = {
  { name = 'auto', title = 'Auto: choose from the photo', service = 'auto' },
  { name = 'virtual-staging', title = 'Virtual staging', service = 'service-ai-virtual-staging' },
  { name = 'item-removal', title = 'Item removal', service = 'service-item-removal' },
  { name = 'day-to-dusk', title = 'Day to dusk', service = 'service-day-to-dusk' },
  { name = 'image-enhancement', title = 'Image enhancement', service = 'service-image-enhancement' },
  { name = 'creative-designer', title = 'Creative designer', service = 'service-creative-designer' },
  -- The tools only the v3 API has: on a v1 key the bridge fails them with a sentence saying so.
  { name = 'virtual-restaging', title = 'Virtual restaging (v3)', service = 'tool-virtual-restaging' },
  { name = 'furniture-restyle', title = 'Furniture restyle (v3)', service = 'tool-furniture-restyle' },
  { name = 'under-construction', title = 'Under construction (v3)', service = 'tool-under-construction' },
  { name = 'wall-change', title = 'Wall change (v3)', service = 'tool-wall-change' },
  { name = 'floor-change', title = 'Floor change (v3)', service = 'tool-floor-change' },
  { name = 'ceiling-change', title = 'Ceiling change (v3)', service = 'tool-ceiling-change' },
  { name = 'backsplash-change', title = 'Backsplash change (v3)', service = 'tool-backsplash-change' },
}
M.BUILTIN_SERVICES = {}
for _, p in ipairs(M.BUILTIN_PRESETS) do
  if p.service ~= 'auto' then M.BUILTIN_SERVICES[p.service] = p.title end
end

-- One argument for sh (single quotes) or for cmd.exe and the C runtime (double quotes).
function M.quote(arg, windows)
  arg = tostring(arg)
  if not windows then
    return "'" .. arg:gsub("'", "'\\''") .. "'"
  end
  if arg:find('[\r\n"]') then
    -- Windows names cannot hold a double quote; cmd.exe would end the quoting at one.
    error('cannot pass ' .. arg .. ' to cmd.exe (it holds a double quote or a line break)', 0)
  end
  -- The C runtime reads backslashes before the closing quote as escaping it: double them.
  -- cmd.exe expands %NAME% even inside quotes: step out of them and escape each % with ^.
  arg = arg:gsub('(\\+)$', '%1%1'):gsub('%%', '"^%%"')
  return '"' .. arg .. '"'
end

-- The command line for io.popen: argv quoted, stderr to a file (stdout is the JSON answer).
-- cmd /c drops the first and the last quote of a line that starts with one: wrap it once more.
function M.command_line(argv, stderr_file, windows)
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = M.quote(a, windows) end
  local line = table.concat(parts, ' ') .. ' 2>' .. M.quote(stderr_file, windows)
  return windows and ('"' .. line .. '"') or line
end

function M.upload_argv(program, items_file, preset)
  local argv = {}
  for i, a in ipairs(program) do argv[i] = a end
  for _, a in ipairs({ 'upload', '--json', '--bridge-only', '--client', M.CLIENT,
                       '--preset', preset, '--items', items_file }) do
    argv[#argv + 1] = a
  end
  return argv
end

function M.presets_argv(program)
  local argv = {}
  for i, a in ipairs(program) do argv[i] = a end
  argv[#argv + 1] = 'presets'
  argv[#argv + 1] = '--json'
  return argv
end

-- The program to run: the user's setting, else what `plugin install` recorded, else PATH.
function M.program(setting, installed_json)
  if setting and setting:match('%S') then return { setting } end
  local installed = installed_json and AihdJson.decode(installed_json)
  if type(installed) == 'table' and type(installed.command) == 'table' and #installed.command > 0 then
    return installed.command
  end
  return { 'aihd-bridge' }
end

-- A stable id for this darktable configuration, kept in its preferences: image ids restart
-- at 1 in every library, so alone they would mix photos of different libraries up.
function M.new_library_id(random)
  local digits = {}
  for i = 1, 16 do digits[i] = string.format('%x', random(0, 15)) end
  return table.concat(digits)
end

function M.source_id(library_id, image_id)
  return 'darktable:' .. library_id .. ':' .. tostring(image_id)
end

-- The exported file's own name: darktable names every export after its source file only, so
-- two IMG_0001.jpg from different folders would land on the same temporary path.
function M.unique_export_path(path, image_id)
  local dir, name = path:match('^(.*[/\\])([^/\\]+)$')
  if not dir then dir, name = '', path end
  return dir .. 'aihd-' .. tostring(image_id) .. '-' .. name
end

-- The property an image is of (its "project" in the items file): the storage's field when it
-- names one, else the image's film roll, its folder's name (`film_path`: the roll's full path).
function M.project(setting, film_path)
  local own = tostring(setting or ''):match('^%s*(.-)%s*$')
  if own ~= '' then return own end
  local leaf = tostring(film_path or ''):gsub('[/\\]+$', ''):match('([^/\\]+)$')
  if not leaf or leaf:match('^%a:$') then return nil end  -- a drive's root names no property
  return leaf
end

function M.items_json(entries)
  local items = {}
  for i, e in ipairs(entries) do items[i] = { path = e.path, source_id = e.source_id, project = e.project } end
  return AihdJson.encode({ items = AihdJson.array(items) })
end

local function last_line(text)
  local last
  for line in (text or ''):gmatch('[^\r\n]+') do
    if line:match('%S') then last = line end
  end
  return last
end

-- What a run of `aihd-bridge upload --json` said: {results = {...}, mode = ...} or
-- {error = 'one line', bridge_down = true|nil}.
function M.read_answer(stdout, exit_code, stderr_text, program_name)
  local answer = AihdJson.decode(stdout or '')
  if type(answer) == 'table' and answer.error then
    return { error = 'AI HomeDesign: ' .. answer.error, bridge_down = exit_code == M.NO_BRIDGE_EXIT }
  end
  if type(answer) == 'table' and type(answer.results) == 'table' then
    return { results = answer.results, mode = answer.mode }
  end
  if NOT_FOUND_EXITS[exit_code] then
    return { error = 'AI HomeDesign: the aihd-bridge program was not found (' .. program_name
      .. '). Install it with install.sh, or set its path in preferences > lua options.' }
  end
  return { error = 'AI HomeDesign: aihd-bridge failed (exit code ' .. tostring(exit_code) .. '): '
    .. (last_line(stderr_text) or last_line(stdout) or 'no output') }
end

-- The presets for the widget from `aihd-bridge presets --json`, else the built-in ones.
function M.read_presets(stdout)
  local answer = AihdJson.decode(stdout or '')
  if type(answer) ~= 'table' or type(answer.presets) ~= 'table' or #answer.presets == 0 then
    return M.BUILTIN_PRESETS, M.BUILTIN_SERVICES, false
  end
  local presets, services = {}, {}
  for _, p in ipairs(answer.presets) do
    if type(p.name) == 'string' and type(p.title) == 'string' then
      presets[#presets + 1] = { name = p.name, title = p.title, service = p.service }
    end
  end
  for _, s in ipairs(type(answer.services) == 'table' and answer.services or {}) do
    services[s.name] = s.title
  end
  if #presets == 0 then return M.BUILTIN_PRESETS, M.BUILTIN_SERVICES, false end
  return presets, services, true
end

-- darktable's tag hierarchy is split on "|": keep it out of the names we put in.
local function tag_part(text)
  return (tostring(text):gsub('|', '/'))
end

function M.tag_name(service_title, order_id)
  return M.TAG_ROOT .. '|' .. tag_part(service_title) .. '|' .. tag_part(order_id)
end

function M.notes_line(service_title, order_id)
  return M.TAG_ROOT .. ': ' .. service_title .. ', order ' .. order_id
end

-- The image's notes with the order's line added once; earlier orders' lines stay.
function M.notes_with(notes, line)
  notes = notes or ''
  for existing in notes:gmatch('[^\n]+') do
    if existing == line then return notes end
  end
  return notes == '' and line or (notes:gsub('\n*$', '') .. '\n' .. line)
end

-- Each exported entry matched to its result by source_id (never by position):
-- {entry, tag, notes_line} for an order, {entry, error} for a failure.
function M.outcomes(entries, results, services)
  local by_source = {}
  for _, r in ipairs(results) do by_source[r.source_id] = r end
  local done, failed = {}, {}
  for _, e in ipairs(entries) do
    local r = by_source[e.source_id]
    if r and r.ok and r.order_id then
      local title = services[r.service_name] or r.service_name or 'unknown service'
      done[#done + 1] = { entry = e, order_id = r.order_id, tag = M.tag_name(title, r.order_id),
                          notes_line = M.notes_line(title, r.order_id) }
    else
      local why = r and (r.error or 'not ordered') or 'the bridge did not report on it'
      -- The bridge names the exported temporary file; the image's own name says more.
      if why:sub(1, #e.path + 2) == e.path .. ': ' then why = why:sub(#e.path + 3) end
      failed[#failed + 1] = { entry = e, error = e.name .. ': ' .. why }
    end
  end
  return done, failed
end

-- One message for darktable's toast: how many were ordered, and the first failure.
function M.summary(done, failed)
  local text = string.format('AI HomeDesign: %d ordered', #done)
  if #failed == 0 then return text end
  text = text .. string.format(', %d failed: %s', #failed, failed[1].error)
  if #failed > 1 then text = text .. ' (the others are in the log)' end
  return text
end

return M
