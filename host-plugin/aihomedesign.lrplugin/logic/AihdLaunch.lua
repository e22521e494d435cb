--[[ Starting the bridge when it does not answer, so that no photographer needs a terminal. The
installer records in the plugin's folder how it runs the bridge (installed.json: {"command":
[python, "-m", "bridge"]}); this makes the shell line that starts `<command> serve` in the
background, every argument quoted. LrTasks.execute hands the line to a shell (sh, cmd.exe), so
text that cannot be quoted safely there is refused, never pasted in. ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdJson = need 'AihdJson'

local AihdLaunch = {}

local function posix_quote(arg)
  return "'" .. arg:gsub("'", "'\\''") .. "'"
end

-- cmd.exe reads %, !, ^ and " even inside quotes: an argument with one cannot be passed as it is.
local function windows_quote(arg)
  if arg:find('[%%!^"%c]') then return nil end
  return '"' .. arg .. '"'
end

--[[ The line that starts the bridge from installed.json's `text`, serving `data_dir` (where the
plugin looks for it): on macOS and Linux detached with nohup, its output dropped (the bridge
keeps its own log); on Windows with `start /B`. Returns the line, or nil and a reason a
photographer can read. ]]
function AihdLaunch.command(text, windows, data_dir)
  local recorded = AihdJson.decode(text or '')
  local command = type(recorded) == 'table' and recorded.command
  if type(command) ~= 'table' or type(command[1]) ~= 'string' or command[1] == '' then
    return nil, 'the installer left no command to start the bridge with (run install.sh again)'
  end
  local words = {}
  for i, arg in ipairs(command) do
    if type(arg) ~= 'string' then return nil, 'installed.json names the bridge\'s command wrongly' end
    if windows then words[i] = windows_quote(arg) else words[i] = posix_quote(arg) end
    if not words[i] then return nil, 'the bridge\'s command has characters Windows cannot start safely: ' .. arg end
  end
  words[#words + 1] = windows and '"serve"' or "'serve'"
  local line = table.concat(words, ' ')
  if windows then
    if not windows_quote(data_dir) then return nil, 'the data folder has characters Windows cannot start safely' end
    return 'set "AIHD_HOME=' .. data_dir .. '" && start "" /B ' .. line
  end
  return 'AIHD_HOME=' .. posix_quote(data_dir) .. ' nohup ' .. line .. ' >/dev/null 2>&1 &'
end

return AihdLaunch
