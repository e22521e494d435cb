"""The bridge without a console window, as Windows starts it at login and `setup` starts it
there: `pythonw -m bridge.cli.background [NAME=VALUE ...]`. pythonw gives a program nowhere
to write, so the bridge's output goes to logs/serve.out; and as systemd and launchd do
elsewhere, the bridge is started again a few seconds after a crash (a clean end, stopped or
already running, ends this too)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ..core.config import load_settings
from ..setup.autostart import SETTINGS_ENV

RESTART_DELAY = 5.0


def main(argv: list[str] | None = None) -> int:
    for arg in sys.argv[1:] if argv is None else argv:
        name, _, value = arg.partition("=")
        if name in SETTINGS_ENV:  # a Run value sets no environment: the settings come as arguments
            os.environ[name] = value
    logs = load_settings().home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    no_window = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # Windows only
    with open(logs / "serve.out", "a", encoding="utf-8") as out:
        serve = [sys.executable, "-m", "bridge", "serve"]
        while subprocess.call(
            serve, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, creationflags=no_window
        ):
            time.sleep(RESTART_DELAY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
