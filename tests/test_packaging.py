"""The built wheel holds every module and data file, and the host plugins (a missing one only
shows once installed outside the repo)."""

import shutil
import subprocess
import sys
import zipfile

from support import ROOT


def test_wheel_contains_the_whole_package(tmp_path):
    # Build from a clean copy: an in-tree build/ left by an earlier build would hide omissions.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns("build", "*.egg-info", ".venv", ".git", "__pycache__", ".pytest_cache"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("aihd_bridge-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "bridge").rglob("*")
        if p.suffix in (".py", ".toml", ".html", ".css", ".js", ".svg")
    }
    assert {"bridge/web/templates/index.html", "bridge/web/static/page.js"} <= expected
    assert expected <= names, sorted(expected - names)
    # the host plugins, from host-plugin/ (their tests stay out)
    plugins = {
        "bridge/host_plugin/" + str(p.relative_to(ROOT / "host-plugin"))
        for p in (ROOT / "host-plugin").rglob("*")
        if p.is_file() and "tests" not in p.relative_to(ROOT / "host-plugin").parts
    }
    assert "bridge/host_plugin/darktable/aihomedesign_lib/AihdDarktable.lua" in plugins
    assert {n for n in names if n.startswith("bridge/host_plugin/")} == plugins
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "aihd-bridge = bridge.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
