--[[ Which catalog a photo belongs to. `photo.localIdentifier` is unique within one catalog only,
so the plugin hands photos over as "<catalog id>:<local id>", where the catalog id is a short
hash of the catalog file's path, and names itself to the bridge as "lightroom:<catalog id>": two
catalogs never see each other's orders. Photos handed over before this (by plugin 0.1) carry
the bare local id; their history is still read back under that id. ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdDigest = need 'AihdDigest'

local AihdCatalog = {}

local ID_LENGTH = 16  -- hex digits: 64 bits, no two catalogs of one person will meet

-- The catalog's identity: the first 64 bits of the SHA-256 of its path, in hex.
function AihdCatalog.id(path)
  return AihdDigest.hex(AihdDigest.sha256(tostring(path))):sub(1, ID_LENGTH)
end

-- What the plugin calls itself for this catalog in hand-overs, changes and history.
function AihdCatalog.client(catalog_id)
  return 'lightroom:' .. catalog_id
end

function AihdCatalog.source_id(catalog_id, local_id)
  return catalog_id .. ':' .. tostring(local_id)
end

-- The local id a source id names in this catalog, or nil when it is another catalog's.
-- A bare local id (plugin 0.1) is taken as this catalog's only where `legacy` allows it.
function AihdCatalog.local_id(catalog_id, source_id, legacy)
  source_id = tostring(source_id)
  local owner, local_id = source_id:match('^(%x+):(.+)$')
  if owner then return owner == catalog_id and local_id or nil end
  if legacy and source_id:match('^%d+$') then return source_id end
  return nil
end

-- The source ids under which the bridge may know a photo: its own, then the bare local id
-- that plugin 0.1 sent.
function AihdCatalog.known_ids(catalog_id, local_id)
  return { AihdCatalog.source_id(catalog_id, local_id), tostring(local_id) }
end

return AihdCatalog
