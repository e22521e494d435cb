"""install.sh as a new user runs it: a throw-away HOME, fake systemctl/launchctl recording calls
(and saying that nothing runs under them: `setup` starts the bridge itself)."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, fake_service_managers


@pytest.fixture
def machine(tmp_path):
    if sys.platform != "linux":
        pytest.skip("install.sh's run here expects Linux (systemd, ~/.local/share); macOS's is simulated")
    home, bin_dir, calls = tmp_path / "home", tmp_path / "bin", tmp_path / "calls.log"
    (home / "Adobe" / "Lightroom").mkdir(parents=True)
    (home / ".config" / "darktable").mkdir(parents=True)  # darktable has run here
    (home / ".config" / "darktable" / "luarc").write_text('require "tools/script_manager"\n')
    fake_service_managers(bin_dir, calls)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIHD_", "XDG_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        HOME=str(home),
        PATH=f"{bin_dir}:{env['PATH']}",
        AIHD_PORT="0",
        AIHD_LIGHTROOM_DIR=str(home / "Adobe" / "Lightroom"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    data = home / ".local" / "share" / "aihd-bridge"

    def run(*args):
        return subprocess.run(
            [str(ROOT / "install.sh"), *args], env=env, capture_output=True, text=True, timeout=600
        )

    yield run, home, data, lambda: calls.read_text().splitlines() if calls.exists() else []
    run("--uninstall", "--purge")  # stops any bridge it started


def _bridge_pid(data):
    return json.loads((data / "bridge.json").read_text())["pid"]


@pytest.mark.long(50)
def test_install_twice_then_uninstall(machine):
    run, home, data, calls = machine
    first = run()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "order sandbox-" in first.stdout and "sandbox mode" in first.stderr
    assert (home / ".local/bin/aihd-bridge").resolve() == data / "venv/bin/aihd-bridge"
    unit = (home / ".config/systemd/user/aihd-bridge.service").read_text()
    assert f"ExecStart={data / 'venv/bin/python'} -m bridge serve" in unit
    assert "systemctl --user enable --now aihd-bridge.service" in calls()
    lightroom = home / "Adobe" / "Lightroom"
    assert (lightroom / "Modules/aihomedesign.lrplugin/Info.lua").is_file()
    assert len(list((lightroom / "Export Presets/AI HomeDesign").glob("*.lrtemplate"))) == 6
    darktable = home / ".config" / "darktable"
    assert (darktable / "lua/contrib/aihomedesign.lua").is_file()
    assert (darktable / "lua/contrib/aihomedesign_lib/AihdJson.lua").is_file()
    pid = _bridge_pid(data)
    assert stat.S_IMODE((data / "bridge.json").stat().st_mode) == 0o600

    second = run()
    assert second.returncode == 0, second.stdout + second.stderr
    assert _bridge_pid(data) != pid  # the bridge was restarted on the new code
    assert calls().count("systemctl --user enable --now aihd-bridge.service") == 2
    assert (
        darktable / "luarc"
    ).read_text() == 'require "tools/script_manager"\nrequire "contrib/aihomedesign"\n'
    doctor = subprocess.run(
        [str(data / "venv/bin/aihd-bridge"), "doctor", "--json"],
        env={
            **os.environ,
            "HOME": str(home),
            "AIHD_LIGHTROOM_DIR": str(lightroom),
            "PATH": f"{home / '.local/bin'}:{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
    )
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert doctor.returncode == 0, doctor.stdout
    assert checks["bridge"]["status"] == checks["lightroom plugin"]["status"] == "ok"

    gone = run("--uninstall")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    left = sorted(
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and not p.is_relative_to(home / ".rustup")
    )  # rustup's, not ours
    # only the history stays, and the user's own luarc without our line
    assert left == [".config/darktable/luarc", ".local/share/aihd-bridge/bridge.sqlite3"]
    assert (darktable / "luarc").read_text() == 'require "tools/script_manager"\n'
    assert "systemctl --user disable --now aihd-bridge.service" in calls()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert run("--uninstall", "--purge").returncode == 0
    assert not data.exists()


def test_darktable_install_is_idempotent_and_uninstall_removes_it(tmp_path):
    from bridge.setup.plugins import LUARC_LINE, darktable_dir, install_darktable, uninstall_darktable

    config = tmp_path / "darktable"
    env = {"AIHD_DARKTABLE_DIR": str(config), "PATH": str(tmp_path / "empty")}
    assert "not found" in install_darktable(ROOT / "host-plugin", env, only_if_found=True)[0]
    assert not config.exists()  # --if-found leaves a machine without darktable alone
    for _ in range(2):
        install_darktable(ROOT / "host-plugin", env)
    contrib = config / "lua" / "contrib"
    assert sorted(p.name for p in (contrib / "aihomedesign_lib").iterdir()) == [
        "AihdDarktable.lua",
        "AihdJson.lua",
        "dkjson.lua",
        "installed.json",
    ]
    assert json.loads((contrib / "aihomedesign_lib/installed.json").read_text())["command"][1:] == [
        "-m",
        "bridge",
    ]
    assert (config / "luarc").read_text() == LUARC_LINE + "\n"
    (config / "luarc").write_text("-- mine\nrequire('contrib/aihomedesign')\nrequire 'contrib/gimp'\n")
    install_darktable(ROOT / "host-plugin", env)  # another spelling of the line counts too
    assert (config / "luarc").read_text().count("aihomedesign") == 1
    removed = uninstall_darktable(env)
    assert len(removed) == 3 and not (contrib / "aihomedesign.lua").exists()
    assert (config / "luarc").read_text() == "-- mine\nrequire 'contrib/gimp'\n"
    assert uninstall_darktable(env) == []
    install_darktable(ROOT / "host-plugin", env)
    (config / "luarc").write_text(LUARC_LINE + "\n")
    uninstall_darktable(env)
    assert not (config / "luarc").exists()  # it held nothing but our line

    home = {"HOME": "/home/u", "LOCALAPPDATA": r"C:\Users\u\AppData\Local", "XDG_CONFIG_HOME": "/x"}
    assert darktable_dir(home, "win32").name == "darktable"
    assert str(darktable_dir(home, "win32")).startswith(r"C:\Users\u\AppData\Local")
    assert darktable_dir(home, "linux") == darktable_dir(home, "darwin") == Path("/x/darktable")


def test_install_ps1_runs_what_install_sh_runs():
    """install.ps1 (Windows PowerShell 5.1) does what install.sh does, with Windows' tools; a
    PowerShell parser checks its syntax in the GitHub Actions matrix (windows-latest)."""
    script = (ROOT / "install.ps1").read_text("utf-8")
    assert script.isascii()  # PowerShell 5.1 reads a file without BOM in the ANSI code page
    code = "\n".join(line.split("#")[0] for line in script.splitlines())
    for command in (
        "& py -3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'",  # the py launcher, 3.11+
        "& py -3 -m venv $Venv",
        "& uv venv --quiet --python-preference only-managed --python 3.12 $Venv",
        "& $Python -m pip install --quiet @Arguments",
        "& uv pip install --quiet --python $Python @Arguments",
        "Invoke-Pip $Python @('--no-deps', '--force-reinstall', $Repo)",
        "$SetupArgs = @('setup')",
        "if ($NoAutostart) { $SetupArgs += '--no-autostart' }",
        "if ($NoPlugin) { $SetupArgs += '--no-plugin' }",
        "& $Aihd @SetupArgs",
        "& $Aihd setup --uninstall --purge",
        "Remove-Folder $Venv",
    ):
        assert command in code, command
    assert "winget install Python.Python.3.12" in script and "python.org/downloads/windows" in script
    assert "Join-Path $env:LOCALAPPDATA 'aihd-bridge'" in code  # where platformdirs puts the data
    # "$name:" in a string is a scope-qualified variable to PowerShell: a parse error
    assert not re.search(r'"[^"\n]*\$(?!env:)\w+:[^"\n]*"', code)
    assert re.search(r"^\$ErrorActionPreference = 'Continue'$", code, re.M)
    assert "powershell -ExecutionPolicy Bypass -File .\\install.ps1" in script
    assert "powershell -ExecutionPolicy Bypass -File .\\install.ps1" in (ROOT / "README.md").read_text()


POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="install.sh is for Linux and macOS")


@POSIX_ONLY
@pytest.mark.parametrize("uname", ["Linux", "Darwin"])
def test_install_sh_without_python_311_says_how_to_get_it(tmp_path, uname):
    tools = tmp_path / "bin"
    tools.mkdir()
    for name, body in {
        "python3": "exit 1",  # a Python older than 3.11: the version check fails
        "uname": f"echo {uname}",
    }.items():
        (tools / name).write_text(f"#!/bin/sh\n{body}\n")
        (tools / name).chmod(0o755)
    for name in ("dirname", "mkdir", "chmod", "sed"):
        (tools / name).symlink_to(shutil.which(name))
    env = {"HOME": str(tmp_path), "PATH": str(tools), "AIHD_HOME": str(tmp_path / "data")}
    run = subprocess.run(
        ["/bin/bash", str(ROOT / "install.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1
    said = run.stderr
    assert "Python 3.11 or newer is needed" in said and "uv" in said
    if uname == "Darwin":
        assert "brew install python@3.12" in said and "python.org/downloads/macos" in said
    else:
        assert "apt-get install python3" in said


@POSIX_ONLY
def test_install_sh_lets_uv_bring_a_python_it_manages(tmp_path):
    tools, calls = tmp_path / "bin", tmp_path / "uv.log"
    tools.mkdir()
    (tools / "uv").write_text(f'#!/bin/sh\necho "uv $*" >> "{calls}"\nexit 1\n')
    (tools / "uv").chmod(0o755)
    env = {
        "HOME": str(tmp_path),
        "PATH": f"{tools}:/usr/bin:/bin",
        "AIHD_HOME": str(tmp_path / "my data"),
    }
    run = subprocess.run([str(ROOT / "install.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "uv could not create a virtual environment" in run.stderr
    venv = tmp_path / "my data" / "venv"
    assert calls.read_text() == f"uv venv --quiet --python-preference only-managed --python 3.12 {venv}\n"
