--[[ The smallest test runner, read by pytest (tests/support.py, LuaTests): test(name, fn) runs fn
and prints one line for it, "ok<TAB>name" or "FAIL<TAB>name<TAB>the error on one line";
finish() prints "N passed, N failed" and exits 1 when any failed. With LUATEST_LIST=1 in the
environment, test() prints "test<TAB>name" and runs nothing, so that pytest can make one test
of each before running the file. ]]

local luatest = { passed = 0, failed = 0, seen = {} }
local listing = os.getenv('LUATEST_LIST') == '1'

local function one_line(text)
  return (tostring(text):gsub('[\r\n\t]+', ' '))
end

function luatest.test(name, fn)
  -- pytest finds a result by its name: two tests of one name would hide one of them
  assert(not luatest.seen[name], 'two tests are called ' .. name)
  luatest.seen[name] = true
  if listing then print('test\t' .. one_line(name)) return end
  local ok, err = pcall(fn)
  if ok then
    luatest.passed = luatest.passed + 1
    print('ok\t' .. one_line(name))
  else
    luatest.failed = luatest.failed + 1
    print('FAIL\t' .. one_line(name) .. '\t' .. one_line(err))
  end
end

function luatest.finish()
  if listing then os.exit(0) end
  print(string.format('%d passed, %d failed', luatest.passed, luatest.failed))
  os.exit(luatest.failed == 0 and 0 or 1)
end

return luatest
