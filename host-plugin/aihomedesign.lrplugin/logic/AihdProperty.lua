--[[ Which property (an address) an export's photos are of: the bridge's batch `project`, which
v3 files the orders under (on v1 it is kept and shown). The export dialog's Property field when
it names one; left empty, the name of the collection being exported from, else the folder of
the first photo. The glue reads the collection and the photo; the choice is made here. ]]

local AihdProperty = {}

local function trim(text)
  if type(text) ~= 'string' then return '' end
  return (text:gsub('^%s+', ''):gsub('%s+$', ''))
end

-- The name of the folder a file is in (Windows or POSIX separators), or nil.
function AihdProperty.folder_of(path)
  if type(path) ~= 'string' then return nil end
  local folder = path:gsub('[/\\]+$', ''):match('^(.*)[/\\][^/\\]*$')
  local leaf = folder and folder:gsub('[/\\]+$', ''):match('([^/\\]+)$')
  if not leaf or leaf:match('^%a:$') then return nil end  -- a drive's root names no property
  return leaf
end

-- What an empty field stands for: the collection's name, else the first photo's folder.
-- Returns the name (or nil) and where it comes from: 'collection', 'folder' or nil.
function AihdProperty.default(collection_name, first_photo_path)
  local collection = trim(collection_name)
  if collection ~= '' then return collection, 'collection' end
  local folder = AihdProperty.folder_of(first_photo_path)
  if folder then return folder, 'folder' end
  return nil, nil
end

-- The property the export sends: the field's value, else the default; nil when there is none.
function AihdProperty.choose(typed, collection_name, first_photo_path)
  local own = trim(typed)
  if own ~= '' then return own end
  return (AihdProperty.default(collection_name, first_photo_path))
end

-- The dialog's line under the field: what is sent, and what an empty field stands for.
-- `known` false: the collection and first photo are not read yet.
function AihdProperty.note(typed, collection_name, first_photo_path, known)
  if trim(typed) ~= '' then
    return 'The property (address) these photos are of: v3 orders are filed under it.'
  end
  if known == false then return 'Left empty: the collection\'s name, else the folder of the first photo.' end
  local name, from = AihdProperty.default(collection_name, first_photo_path)
  if from == 'collection' then
    return string.format('Left empty: "%s", the name of the collection exported from.', name)
  elseif from == 'folder' then
    return string.format('Left empty: "%s", the folder of the first photo.', name)
  end
  return 'Left empty: the collection\'s name, else the folder of the first photo.'
end

return AihdProperty
