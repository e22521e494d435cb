"""The hosts' own lists of services (the Lightroom dialog's menu, darktable's presets when the
bridge cannot be asked) name every service the bridge offers, v3's tools included, and the
shipped presets offer each one."""

import re

from bridge.photo.rules import Rules
from bridge.photo.services import services
from support import ROOT

PLUGIN = ROOT / "host-plugin"


def test_the_lightroom_menu_names_every_service():
    text = (PLUGIN / "aihomedesign.lrplugin" / "logic" / "AihdServices.lua").read_text("utf-8")
    listed = re.findall(r"value = '([\w-]+)'", text)
    assert listed[0] == "auto" and sorted(listed[1:]) == sorted(services())


def test_darktables_fallback_presets_are_the_shipped_ones(tmp_path):
    text = (PLUGIN / "darktable" / "aihomedesign_lib" / "AihdDarktable.lua").read_text("utf-8")
    listed = dict(re.findall(r"name = '([\w-]+)', title = '[^']*', service = '([\w-]+)'", text))
    shipped = {name: preset.service for name, preset in Rules.load(tmp_path).presets.items()}
    assert listed == shipped
    assert set(shipped.values()) - {"auto"} == set(services())
