--[[ The tiny runner of the plain-Lua unit tests (Lightroom's under 5.1, darktable's under 5.4):
test(name, fn) runs one, finish() prints "N passed, N failed" and exits non-zero on a failure. ]]

local LuaTest = { passed = 0, failed = 0 }

function LuaTest.test(name, fn)
  local ok, err = pcall(fn)
  if ok then LuaTest.passed = LuaTest.passed + 1 else
    LuaTest.failed = LuaTest.failed + 1
    print('FAIL ' .. name .. ': ' .. tostring(err))
  end
end

function LuaTest.finish()
  print(string.format('%d passed, %d failed', LuaTest.passed, LuaTest.failed))
  os.exit(LuaTest.failed == 0 and 0 or 1)
end

return LuaTest
