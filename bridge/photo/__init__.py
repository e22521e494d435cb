"""What a photo is and what is ordered for it: its format and checks, the services (v3: tools,
`tools.toml`), the rules and presets that pick one (`presets.toml`), its thumbnail, and what
`aihd-bridge inspect` tells of it. No HTTP."""
