--[[ Unit tests of AihdDarktable (no darktable, no bridge) under Lua 5.4.
usage: lua5.4 test_logic.lua <aihomedesign_lib dir> <dir holding AihdJson.lua>
prints "N passed, N failed" ]]

package.path = arg[1] .. '/?.lua;' .. arg[2] .. '/?.lua;'
  .. (arg[0]:match('^(.*[/\\])') or './') .. '../../tests/?.lua;' .. package.path
local A = require 'AihdDarktable'
local luatest = require 'luatest'
local test = luatest.test
local function eq(a, b)
  if a ~= b then error(string.format('%q ~= %q', tostring(a), tostring(b)), 2) end
end

test('windows quoting: spaces, a trailing backslash, percent signs', function()
  eq(A.quote([[C:\Program Files\aihd\aihd-bridge.exe]], true), [["C:\Program Files\aihd\aihd-bridge.exe"]])
  eq(A.quote([[C:\tmp dir\]], true), [["C:\tmp dir\\"]])
  eq(A.quote('50%off %PATH%', true), '"50"^%"off "^%"PATH"^%""')
end)

test('windows quoting refuses what cmd.exe cannot take', function()
  local ok, err = pcall(A.quote, 'a"b', true)
  assert(not ok and err:find('double quote'))
end)

test('windows command line: wrapped once more for cmd /c, stderr to a file', function()
  local line = A.command_line({ [[C:\py\python.exe]], '-m', 'bridge' }, [[C:\T\e.err]], true)
  eq(line, [[""C:\py\python.exe" "-m" "bridge" 2>"C:\T\e.err""]])
end)

test('posix command line', function()
  eq(A.command_line({ '/bin/aihd-bridge', "it's" }, '/t/e', false), [['/bin/aihd-bridge' 'it'\''s' 2>'/t/e']])
end)

test('upload argv asks for JSON, the bridge only, an items file', function()
  local argv = A.upload_argv({ 'py', '-m', 'bridge' }, '/t/items.json', 'day-to-dusk')
  eq(table.concat(argv, ' '), 'py -m bridge upload --json --bridge-only --client darktable '
    .. '--preset day-to-dusk --items /t/items.json')
end)

test('program: the setting, else the installed command, else PATH', function()
  eq(A.program('/opt/aihd-bridge', '{"command":["x"]}')[1], '/opt/aihd-bridge')
  eq(table.concat(A.program('', '{"command":["/v/python","-m","bridge"]}'), ' '), '/v/python -m bridge')
  eq(A.program('  ', nil)[1], 'aihd-bridge')
  eq(A.program(nil, 'not json')[1], 'aihd-bridge')
end)

test('source ids carry the library id; library ids are 16 hex digits', function()
  local id = A.new_library_id(math.random)
  assert(id:match('^%x+$') and #id == 16, id)
  eq(A.source_id('abc', 12), 'darktable:abc:12')
end)

test('each export gets a path of its own', function()
  eq(A.unique_export_path('/tmp/dt/IMG_0001.jpg', 7), '/tmp/dt/aihd-7-IMG_0001.jpg')
  eq(A.unique_export_path([[C:\T\a b.jpg]], 8), [[C:\T\aihd-8-a b.jpg]])
end)

test('answers: results, bridge down, no program, a crash', function()
  local ok = A.read_answer('{"mode":"live","results":[{"source_id":"s","ok":true}]}', 0, '', 'x')
  eq(#ok.results, 1)
  local down = A.read_answer('{"mode":null,"error":"the AI HomeDesign bridge is not running","results":[]}', 3, '', 'x')
  assert(down.bridge_down and down.error:find('not running'))
  local missing = A.read_answer('', 127, 'sh: 1: x: not found', '/opt/x')
  assert(missing.error:find('not found') and missing.error:find('/opt/x', 1, true))
  local crash = A.read_answer('', 1, 'Traceback\nValueError: boom\n', 'x')
  assert(crash.error:find('exit code 1') and crash.error:find('ValueError: boom', 1, true), crash.error)
end)

test('presets from the CLI, else the built-in list', function()
  local presets, services, asked = A.read_presets('{"presets":[{"name":"t","title":"T","service":"s"}],'
    .. '"services":[{"name":"s","title":"S"}]}')
  assert(asked and presets[1].name == 't' and services.s == 'S')
  local builtin, builtin_services, asked2 = A.read_presets('garbage')
  assert(not asked2 and #builtin == 13 and builtin_services['service-day-to-dusk'] == 'Day to dusk')
end)

test('outcomes match by source id, not position', function()
  local entries = { { source_id = 'a', name = 'a.jpg', path = '/t/aihd-1-a.jpg' },
                    { source_id = 'b', name = 'b.jpg', path = '/t/aihd-2-b.jpg' },
                    { source_id = 'c', name = 'c.jpg', path = '/t/aihd-3-c.jpg' } }
  local results = { { source_id = 'b', ok = false, error = '/t/aihd-2-b.jpg: cut short' },
                    { source_id = 'a', ok = true, order_id = 'o|1', service_name = 'service-day-to-dusk' } }
  local done, failures = A.outcomes(entries, results, A.BUILTIN_SERVICES)
  eq(#done, 1); eq(done[1].entry.source_id, 'a')
  eq(done[1].tag, 'AI HomeDesign|Day to dusk|o/1')
  eq(#failures, 2); eq(failures[1].error, 'b.jpg: cut short')
  eq(failures[2].error, 'c.jpg: the bridge did not report on it')
  eq(A.summary(done, failures), 'AI HomeDesign: 1 ordered, 2 failed: b.jpg: cut short (the others are in the log)')
end)

test('notes: the line is added once, earlier lines stay', function()
  eq(A.notes_with('', 'L'), 'L')
  eq(A.notes_with('mine\n', 'L'), 'mine\nL')
  eq(A.notes_with('mine\nL', 'L'), 'mine\nL')
end)

test('items file is JSON with paths and source ids', function()
  local Json = require 'AihdJson'
  local decoded = Json.decode(A.items_json({ { path = '/t/Größe "x".jpg', source_id = 'darktable:a:1', image = {} } }))
  eq(decoded.items[1].path, '/t/Größe "x".jpg'); eq(decoded.items[1].source_id, 'darktable:a:1')
end)

test('the property: the field when it names one, else the film roll\'s folder name', function()
  eq(A.project('  12 Oak Avenue ', '/photos/Elsewhere'), '12 Oak Avenue')
  eq(A.project('', '/photos/2026/12 Oak Avenue'), '12 Oak Avenue')
  eq(A.project(nil, '/photos/7 Mill Lane/'), '7 Mill Lane')
  eq(A.project('   ', [[D:\Shoots\Flat 3]]), 'Flat 3')
  eq(A.project('', [[D:\]]), nil)
  eq(A.project('', nil), nil)
  local Json = require 'AihdJson'
  local decoded = Json.decode(A.items_json({ { path = '/t/a.jpg', source_id = 's', project = '12 Oak Avenue' },
                                             { path = '/t/b.jpg', source_id = 't' } }))
  eq(decoded.items[1].project, '12 Oak Avenue'); eq(decoded.items[2].project, nil)
end)

luatest.finish()
