"""Lua poll: the Lightroom plugin's CPU time per poll of an export's batch (the answer decoded in
plain Lua 5.1, the progress bar updated), at 2,000 photos against 200. With the cursor the
answer carries only what changed, so a poll should cost the same in a big export as in a small
one; a second row shows what whole-batch polls (before the cursor) cost.

Runs `host-plugin/tests/bench_poll.lua` under lua5.1, which times the plugin's own modules.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .common import ROOT, row

SCRIPT = ROOT / "host-plugin" / "tests" / "bench_poll.lua"
PLUGIN = ROOT / "host-plugin" / "aihomedesign.lrplugin"


def measure(_work: Path) -> list[dict]:
    lua = shutil.which("lua5.1")
    name = "Lua poll: plugin CPU per poll, 2,000 photos against 200"
    if lua is None:
        return [{"name": name, "skipped": "lua5.1 is not installed"}]
    out = subprocess.run([lua, str(SCRIPT), str(PLUGIN)], capture_output=True, text=True, check=True)
    timings = json.loads(out.stdout)
    return [
        row(
            f"{name} ({how})",
            "200 photos (ms per poll)",
            timings[f"{mode}_200"]["seconds"] * 1000,
            timings[f"{mode}_2000"]["seconds"] * 1000,
            goal,
            unit="ms",
        )
        for mode, how, goal in (
            ("cursor", "polls with the cursor", ("<=", 1.5)),
            ("full", "polls of the whole batch, before the cursor", None),
        )
    ]
