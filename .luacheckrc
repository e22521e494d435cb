-- luacheck for the Lightroom plugin (Lua 5.1), the darktable script (Lua 5.4) and their test harnesses: `luacheck host-plugin`.
std = 'lua51'
max_line_length = 135
self = false  -- methods need not use self

-- What Lightroom gives a plug-in's glue files; the pure modules of logic/ get none of it, so
-- an `import` there is an error.
stds.lightroom = { read_globals = { 'import', 'LOC', '_PLUGIN', 'WIN_ENV', 'MAC_ENV' } }
files['host-plugin/aihomedesign.lrplugin'] = { std = 'lua51+lightroom' }
files['host-plugin/aihomedesign.lrplugin/logic'] = { std = 'lua51' }
-- The fake SDK sets those globals, and Lightroom's pcall, xpcall and require.
files['host-plugin/tests'] = { std = 'lua51', globals = { 'import', 'LOC', '_PLUGIN', 'WIN_ENV', 'MAC_ENV' } }

-- Vendored as published (dkjson 2.6, MIT); generated (make_sdk_api.py).
exclude_files = { 'host-plugin/aihomedesign.lrplugin/logic/dkjson.lua', 'host-plugin/tests/sdk_api.lua' }

-- darktable 4.x embeds Lua 5.4, and gives its scripts `darktable` through require.
files['host-plugin/darktable'] = { std = 'lua54' }
