--[[ Loads the plugin's pure modules from logic/. Lightroom's `require` reads only files at the
plug-in's root, so this loads them from _PLUGIN.path, once each, and hands each module this loader
so that it can load its own neighbours (under plain Lua, `require` does). It reads them with
LrFileUtils.readFile and loadstring: on Windows Lua's own loadfile takes the ANSI code page, and a
plug-in under C:\Users\José\... could not load its own files. ]]

local LrFileUtils = import 'LrFileUtils'
local LrPathUtils = import 'LrPathUtils'

local folder = LrPathUtils.child(_PLUGIN.path, 'logic')
local loaded = {}

local function load(name)
  if loaded[name] == nil then
    local path = LrPathUtils.child(folder, name .. '.lua')
    local text = LrFileUtils.readFile(path) or error('the plugin cannot read its file ' .. path)
    local chunk = assert(loadstring(text, '@' .. path))
    loaded[name] = chunk(load)
  end
  return loaded[name]
end

return load
