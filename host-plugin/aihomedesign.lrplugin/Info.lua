--[[ AI HomeDesign for Lightroom Classic: export photos to the local aihd-bridge, which orders
them from the AI HomeDesign API, and tag each source photo with its order id. ]]

return {
  LrSdkVersion = 10.0,
  LrSdkMinimumVersion = 6.0,
  LrToolkitIdentifier = 'com.aihomedesign.bridge.lightroom',
  LrPluginName = LOC '$$$/AIHD/PluginName=AI HomeDesign',
  LrExportServiceProvider = {
    title = LOC '$$$/AIHD/ServiceTitle=AI HomeDesign',
    file = 'ExportServiceProvider.lua',
  },
  LrMetadataProvider = 'MetadataDefinition.lua',
  LrMetadataTagsetFactory = { 'Tagset.lua' },
  LrPluginInfoProvider = 'PluginInfoProvider.lua',
  LrInitPlugin = 'InitPlugin.lua',
  LrForceInitPlugin = true,  -- the catch-up runs when Lightroom starts, not at the plugin's first use
  LrShutdownPlugin = 'ShutdownPlugin.lua',
  LrShutdownApp = 'ShutdownApp.lua',
  LrLibraryMenuItems = {
    { title = LOC '$$$/AIHD/CatchUp=AI HomeDesign: Bring In Finished Results',
      file = 'CatchUp.lua' },
    { title = LOC '$$$/AIHD/ShowHistory=AI HomeDesign: Order History of Selected Photos...',
      file = 'ShowHistory.lua', enabledWhen = 'photosSelected' },
    { title = LOC '$$$/AIHD/Clear=AI HomeDesign: Clear Order Fields of Selected Photos...',
      file = 'ClearFields.lua', enabledWhen = 'photosSelected' },
  },
  VERSION = { major = 0, minor = 3, revision = 0 },
}
