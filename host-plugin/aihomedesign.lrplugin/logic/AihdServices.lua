--[[ The services the API offers, as the export dialog and the keywords name them. ]]

local AihdServices = {}

AihdServices.AUTO = 'auto'

AihdServices.list = {
  { value = 'auto', title = 'Auto: choose from the photo' },
  { value = 'service-ai-virtual-staging', title = 'Virtual staging' },
  { value = 'service-item-removal', title = 'Item removal' },
  { value = 'service-day-to-dusk', title = 'Day to dusk' },
  { value = 'service-image-enhancement', title = 'Image enhancement' },
  { value = 'service-creative-designer', title = 'Creative designer' },
  -- The tools only the v3 API has: on a v1 key the bridge fails them with a sentence saying so.
  { value = 'tool-virtual-restaging', title = 'Virtual restaging (v3)' },
  { value = 'tool-furniture-restyle', title = 'Furniture restyle (v3)' },
  { value = 'tool-under-construction', title = 'Under construction (v3)' },
  { value = 'tool-wall-change', title = 'Wall change (v3)' },
  { value = 'tool-floor-change', title = 'Floor change (v3)' },
  { value = 'tool-ceiling-change', title = 'Ceiling change (v3)' },
  { value = 'tool-backsplash-change', title = 'Backsplash change (v3)' },
}

function AihdServices.title(value)
  for _, s in ipairs(AihdServices.list) do
    if s.value == value then return s.title end
  end
  return value or 'unknown service'
end

-- What the bridge's POST /v1/uploads takes for this choice.
function AihdServices.request_fields(choice)
  if choice == nil or choice == AihdServices.AUTO then return { preset = 'auto' } end
  return { service_name = choice }
end

-- The keyword path "AI HomeDesign > <service> > <order id>", as a list of names.
function AihdServices.keyword_path(service_name, order_id)
  return { 'AI HomeDesign', AihdServices.title(service_name), order_id }
end

return AihdServices
