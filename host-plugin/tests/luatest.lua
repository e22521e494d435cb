--[[ The smallest test runner: test(name, fn) runs fn and counts; finish() prints
"N passed, N failed" and exits 1 when any failed. ]]

local luatest = { passed = 0, failed = 0 }

function luatest.test(name, fn)
  local ok, err = pcall(fn)
  if ok then luatest.passed = luatest.passed + 1 else
    luatest.failed = luatest.failed + 1
    print('FAIL ' .. name .. ': ' .. tostring(err))
  end
end

function luatest.finish()
  print(string.format('%d passed, %d failed', luatest.passed, luatest.failed))
  os.exit(luatest.failed == 0 and 0 or 1)
end

return luatest
