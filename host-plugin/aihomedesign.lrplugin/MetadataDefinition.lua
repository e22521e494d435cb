--[[ The AI HomeDesign fields shown in the Metadata panel (read-only, searchable). ]]

local function field(id, title, browsable)
  return { id = id, title = title, dataType = 'string', searchable = true,
           browsable = browsable, readOnly = true }
end

return {
  metadataFieldsForPhotos = {
    field('orderId', LOC '$$$/AIHD/Field/OrderId=Order ID', true),
    field('service', LOC '$$$/AIHD/Field/Service=Service', true),
    field('status', LOC '$$$/AIHD/Field/Status=Status', true),
    field('uploadedAt', LOC '$$$/AIHD/Field/UploadedAt=Uploaded', false),
    field('orderHistory', LOC '$$$/AIHD/Field/History=Earlier orders', false),
  },
  schemaVersion = 1,
}
