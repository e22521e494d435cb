"""Putting the host plugins where their hosts find them: the Lightroom plugin and its export
presets in Lightroom Classic's folders, the darktable script in darktable's lua/contrib."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PLUGIN_DIR = "aihomedesign.lrplugin"
PRESET_FOLDER = "AI HomeDesign"
DARKTABLE_SCRIPT = "aihomedesign.lua"
DARKTABLE_LIB = "aihomedesign_lib"
# The Lightroom plugin's plain-Lua modules the darktable script uses too (JSON and its dkjson).
SHARED_LUA = ("logic/AihdJson.lua", "logic/dkjson.lua")
LUARC_LINE = 'require "contrib/aihomedesign"'
_LUARC_RE = re.compile(r"""^\s*require\s*\(?\s*["']contrib/aihomedesign["']\s*\)?\s*;?\s*$""")


def bundled_plugins() -> Path:
    """The host plugins this installation carries: inside the package once installed
    (`bridge/host_plugin`), the repository's host-plugin/ folder in a checkout."""
    package = Path(__file__).resolve().parents[1]
    for place in (package / "host_plugin", package.parent / "host-plugin"):
        if (place / PLUGIN_DIR / "Info.lua").is_file():
            return place
    raise FileNotFoundError(f"the host plugins are missing from {package}: reinstall aihd-bridge")


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
        if "microsoft" not in Path("/proc/version").read_text("utf-8", errors="replace").lower():
            return None
        win = subprocess.run(
            ["cmd.exe", "/c", "echo %APPDATA%"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        unix = subprocess.run(
            ["wslpath", "-u", win], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        return Path(unix) if unix else None
    except (OSError, subprocess.SubprocessError):
        return None


def install(source: Path, data_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    """Copy the plugin (and presets) from a host-plugin/ folder; returns what was done."""
    done = []
    kept = data_dir / "lightroom"
    _replace_tree(source / PLUGIN_DIR, kept / PLUGIN_DIR)
    _record_command(kept / PLUGIN_DIR)
    _replace_tree(source / "presets", kept / "presets")
    done.append(f"plugin kept at {kept / PLUGIN_DIR}")
    target = lightroom_dir(env)
    if target is None or not target.is_dir():
        done.append(
            "Lightroom Classic was not found here: in Lightroom, choose File > Plug-in "
            f"Manager > Add and pick {kept / PLUGIN_DIR}"
        )
        return done
    _replace_tree(source / PLUGIN_DIR, target / "Modules" / PLUGIN_DIR)
    _record_command(target / "Modules" / PLUGIN_DIR)
    _replace_tree(source / "presets", target / "Export Presets" / PRESET_FOLDER)
    done.append(f"plugin installed in {target / 'Modules'}; restart Lightroom to load it")
    done.append(f"export presets installed in {target / 'Export Presets' / PRESET_FOLDER}")
    return done


def _record_command(folder: Path) -> None:
    """`installed.json`: how a host's plugin runs the very aihd-bridge that installed it, wherever
    the host's PATH points (darktable's script its commands, Lightroom's plugin `serve` when
    the bridge does not answer)."""
    (folder / "installed.json").write_text(json.dumps({"command": [sys.executable, "-m", "bridge"]}), "utf-8")


def darktable_dir(env: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """darktable's configuration folder (holding luarc and lua/)."""
    env = dict(os.environ if env is None else env)
    platform = platform or sys.platform
    if env.get("AIHD_DARKTABLE_DIR"):
        return Path(env["AIHD_DARKTABLE_DIR"])
    home = Path(env.get("HOME") or Path.home())
    if platform == "win32":
        return Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local") / "darktable"
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "darktable"


def darktable_found(env: dict[str, str] | None = None) -> bool:
    """darktable has run here (its configuration folder exists) or is on PATH."""
    env = dict(os.environ if env is None else env)
    return darktable_dir(env).is_dir() or shutil.which("darktable", path=env.get("PATH")) is not None


def install_darktable(
    source: Path, env: dict[str, str] | None = None, only_if_found: bool = False
) -> list[str]:
    """Copy the darktable script into lua/contrib and require it from luarc once."""
    if only_if_found and not darktable_found(env):
        return ["darktable was not found here: its script was not installed"]
    for name in SHARED_LUA:
        if not (source / PLUGIN_DIR / name).is_file():
            raise FileNotFoundError(f"{source / PLUGIN_DIR / name} is missing: reinstall aihd-bridge")
    config = darktable_dir(env)
    contrib = config / "lua" / "contrib"
    _replace_tree(source / "darktable" / DARKTABLE_LIB, contrib / DARKTABLE_LIB)
    for name in SHARED_LUA:
        shutil.copyfile(source / PLUGIN_DIR / name, contrib / DARKTABLE_LIB / Path(name).name)
    _record_command(contrib / DARKTABLE_LIB)
    shutil.copyfile(source / "darktable" / DARKTABLE_SCRIPT, contrib / DARKTABLE_SCRIPT)
    luarc = config / "luarc"
    lines = luarc.read_text("utf-8").splitlines() if luarc.is_file() else []
    if not any(_LUARC_RE.match(line) for line in lines):
        luarc.write_text("".join(f"{line}\n" for line in [*lines, LUARC_LINE]), "utf-8")
    return [
        f"darktable script installed in {contrib}, required from {luarc}; restart darktable "
        "and pick the storage 'AI HomeDesign' in the export module"
    ]


def uninstall_darktable(env: dict[str, str] | None = None) -> list[str]:
    config = darktable_dir(env)
    contrib, luarc = config / "lua" / "contrib", config / "luarc"
    removed = []
    if (contrib / DARKTABLE_LIB).is_dir():
        shutil.rmtree(contrib / DARKTABLE_LIB)
        removed.append(str(contrib / DARKTABLE_LIB))
    if (contrib / DARKTABLE_SCRIPT).is_file():
        (contrib / DARKTABLE_SCRIPT).unlink()
        removed.append(str(contrib / DARKTABLE_SCRIPT))
    if luarc.is_file():
        lines = luarc.read_text("utf-8").splitlines()
        kept = [line for line in lines if not _LUARC_RE.match(line)]
        if kept != lines:
            if any(line.strip() for line in kept):
                luarc.write_text("".join(f"{line}\n" for line in kept), "utf-8")
            else:  # nothing but our line was in it
                luarc.unlink()
            removed.append(f"the line {LUARC_LINE!r} from {luarc}")
    return removed


def uninstall(data_dir: Path, env: dict[str, str] | None = None) -> list[str]:
    removed = uninstall_darktable(env)
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
        raise FileNotFoundError(f"{src} is missing: reinstall aihd-bridge")
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest)
