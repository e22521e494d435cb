--[[ Which catalog a photo belongs to. `photo.localIdentifier` is unique within one catalog only,
so the plugin hands photos over as "<catalog id>:<local id>:<uuid>" and names itself to the bridge
as "lightroom:<catalog id>": two catalogs never see each other's orders.

The catalog id is kept in the catalog itself (the glue stores it once, AihdCatalogSync.catalog), so it
survives Lightroom's upgrade (a new file, Studio-v13.lrcat), a move and a rename. Made the first
time, it is the short hash of the catalog file's path that plugin 0.2 used as the identity: the
orders, cursor and pending batches kept under it stay this catalog's.

The photo's uuid survives a copy of the catalog, where its local id may not: catch-up finds the
photo by it (catalog:findPhotoByUuid). Photos handed over before carry "<catalog id>:<local id>"
(plugin 0.2) or the bare local id (plugin 0.1); their history is still read back under those. ]]

local need = ...  -- Lightroom: AihdLogic's loader; plain Lua: require passes the module name
if type(need) ~= 'function' then need = require end
local AihdDigest = need 'AihdDigest'

local AihdCatalog = {}

local ID_LENGTH = 16  -- hex digits: 64 bits, no two catalogs of one person will meet

-- The identity a catalog is given the first time: the first 64 bits of the SHA-256 of its
-- file's path, in hex.
function AihdCatalog.id(path)
  return AihdDigest.hex(AihdDigest.sha256(tostring(path))):sub(1, ID_LENGTH)
end

-- The files a catalog at `path` was upgraded from, nearest first: Lightroom's upgrade writes
-- "<name>-v13.lrcat" beside "<name>.lrcat" ("Catalog-v10-v11.lrcat" came from "Catalog-v10.lrcat",
-- which came from "Catalog.lrcat"). A catalog that plugin 0.2 knew by its old path's identity
-- takes that identity over, with its cursor and pending batches.
function AihdCatalog.earlier_paths(path)
  local earlier = {}
  local stem, suffix = tostring(path):match('^(.*)%-v%d+(%.[Ll][Rr][Cc][Aa][Tt])$')
  while stem do
    earlier[#earlier + 1] = stem .. suffix
    stem = stem:match('^(.*)%-v%d+$')
  end
  return earlier
end

-- Whether a value kept in the catalog is an identity this module made.
function AihdCatalog.valid_id(value)
  return type(value) == 'string' and #value == ID_LENGTH and value:match('^%x+$') ~= nil
end

-- What the plugin calls itself for this catalog in hand-overs, changes and history.
function AihdCatalog.client(catalog_id)
  return 'lightroom:' .. catalog_id
end

function AihdCatalog.source_id(catalog_id, local_id, uuid)
  return catalog_id .. ':' .. tostring(local_id) .. (uuid and (':' .. uuid) or '')
end

-- The local id (and uuid, when it carries one) a source id names in this catalog, or nil when
-- it is another catalog's. A bare local id (plugin 0.1) is taken as this catalog's only where
-- `legacy` allows it.
function AihdCatalog.local_id(catalog_id, source_id, legacy)
  source_id = tostring(source_id)
  local owner, rest = source_id:match('^(%x+):(.+)$')
  if owner then
    if owner ~= catalog_id then return nil end
    local local_id, uuid = rest:match('^([^:]+):(.+)$')
    if local_id then return local_id, uuid end
    return rest
  end
  if legacy and source_id:match('^%d+$') then return source_id end
  return nil
end

-- The source ids under which the bridge may know a photo: its own, then those that plugin 0.2
-- (no uuid) and 0.1 (the bare local id) sent.
function AihdCatalog.known_ids(catalog_id, local_id, uuid)
  local ids = { AihdCatalog.source_id(catalog_id, local_id), tostring(local_id) }
  if uuid then table.insert(ids, 1, AihdCatalog.source_id(catalog_id, local_id, uuid)) end
  return ids
end

return AihdCatalog
