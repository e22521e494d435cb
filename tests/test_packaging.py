"""The built wheel holds every module and data file (a missing subpackage only shows once
installed outside the repo)."""

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
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "aihd-bridge = bridge.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
