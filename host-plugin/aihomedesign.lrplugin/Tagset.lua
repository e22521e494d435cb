--[[ A Metadata panel tagset: the file name and the AI HomeDesign fields together. ]]

local id = 'com.aihomedesign.bridge.lightroom.'

return {
  id = 'aihdTagset',
  title = LOC '$$$/AIHD/Tagset=AI HomeDesign',
  items = {
    'com.adobe.filename',
    'com.adobe.separator',
    { 'com.adobe.label', label = LOC '$$$/AIHD/Tagset/Label=AI HomeDesign' },
    id .. 'orderId',
    id .. 'service',
    id .. 'status',
    id .. 'uploadedAt',
    id .. 'orderHistory',
  },
}
