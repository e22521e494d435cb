--[[ Loads the plugin's pure modules from logic/. Lightroom's `require` reads only files at the
plug-in's root, so this loads them with loadfile from _PLUGIN.path, once each, and hands each
module this loader so that it can load its own neighbours (under plain Lua, `require` does). ]]

local LrPathUtils = import 'LrPathUtils'

local folder = LrPathUtils.child(_PLUGIN.path, 'logic')
local loaded = {}

local function load(name)
  if loaded[name] == nil then
    local chunk = assert(loadfile(LrPathUtils.child(folder, name .. '.lua')))
    loaded[name] = chunk(load)
  end
  return loaded[name]
end

return load
