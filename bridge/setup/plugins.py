"""Putting the Lightroom plugin and its export presets where Lightroom Classic finds them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PLUGIN_DIR = "aihomedesign.lrplugin"
PRESET_FOLDER = "AI HomeDesign"


def lightroom_dir(env: dict[str, str] | None = None, platform: str | None = None) -> Path | None:
    """Lightroom Classic's settings folder (holding Modules and Export Presets), or None."""
    env = dict(os.environ if env is None else env)
    platform = platform or sys.platform
    if env.get("AIHD_LIGHTROOM_DIR"):
        return Path(env["AIHD_LIGHTROOM_DIR"])
    home = Path(env.get("HOME") or Path.home())
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Adobe" / "Lightroom"
    if platform == "win32":
        return Path(env["APPDATA"]) / "Adobe" / "Lightroom" if env.get("APPDATA") else None
    appdata = _wsl_appdata()
    return appdata / "Adobe" / "Lightroom" if appdata else None


def _wsl_appdata() -> Path | None:
    """Under WSL, Lightroom lives on the Windows side: ask Windows for %APPDATA%."""
    try:
        if "microsoft" not in Path("/proc/version").read_text().lower():
            return None
        win = subprocess.run(["cmd.exe", "/c", "echo %APPDATA%"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        unix = subprocess.run(["wslpath", "-u", win], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        return Path(unix) if unix else None
    except (OSError, subprocess.SubprocessError):
        return None


def install(source: Path, data_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    """Copy the plugin (and presets) from a checkout's host-plugin/ folder; returns what was done."""
    done = []
    kept = data_dir / "lightroom"
    _replace_tree(source / PLUGIN_DIR, kept / PLUGIN_DIR)
    _replace_tree(source / "presets", kept / "presets")
    done.append(f"plugin kept at {kept / PLUGIN_DIR}")
    target = lightroom_dir(env)
    if target is None or not target.is_dir():
        done.append("Lightroom Classic was not found here: in Lightroom, choose File > Plug-in "
                    f"Manager > Add and pick {kept / PLUGIN_DIR}")
        return done
    _replace_tree(source / PLUGIN_DIR, target / "Modules" / PLUGIN_DIR)
    _replace_tree(source / "presets", target / "Export Presets" / PRESET_FOLDER)
    done.append(f"plugin installed in {target / 'Modules'}; restart Lightroom to load it")
    done.append(f"export presets installed in {target / 'Export Presets' / PRESET_FOLDER}")
    return done


def uninstall(data_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    removed = []
    target = lightroom_dir(env)
    places = [data_dir / "lightroom"]
    if target is not None:
        places += [target / "Modules" / PLUGIN_DIR, target / "Export Presets" / PRESET_FOLDER]
    for place in places:
        if place.exists():
            shutil.rmtree(place)
            removed.append(str(place))
    return removed


def installed(env: dict[str, str] | None = None) -> Path | None:
    target = lightroom_dir(env)
    if target is not None and (target / "Modules" / PLUGIN_DIR / "Info.lua").is_file():
        return target / "Modules" / PLUGIN_DIR
    return None


def _replace_tree(src: Path, dest: Path) -> None:
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is missing: run this from a checkout of aihd-bridge")
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest)
