"""API key storage: keyring first, a 0600 file where there is none, the environment above both;
never printed; a running bridge takes up a new key without a restart."""

import json
import stat

from bridge.sandbox import key_fingerprint
from support import ROOT, bridge_env, run_cli

KEY = "live-KEY-0123456789abcdef"


def _env(tmp_path, keyring: bool, **extra):
    env = bridge_env(tmp_path / "home", api_key=None, **extra)
    if keyring:
        env["PYTHON_KEYRING_BACKEND"] = "keyring_backend.JsonFileKeyring"
        env["AIHD_TEST_KEYRING"] = str(tmp_path / "keyring.json")
        env["PYTHONPATH"] = f"{ROOT / 'tests'}:{ROOT}"
    else:  # keyring's own "no backend" answer, as on a headless machine
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def _show(env) -> dict:
    proc = run_cli("config", "show", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_key_goes_to_the_keyring(tmp_path):
    env = _env(tmp_path, keyring=True)
    proc = run_cli("config", "set-key", "--stdin", env=env, input=KEY + "\n")
    assert proc.returncode == 0 and "OS keyring" in proc.stdout
    assert json.loads((tmp_path / "keyring.json").read_text()) == {"aihd-bridge/api-key": KEY}
    assert not (tmp_path / "home" / "api-key").exists()
    shown = _show(env)
    assert shown["api_key_source"] == "keyring" and shown["mode"] == "live"
    for proc in (run_cli("config", "show", env=env), run_cli("doctor", env=env)):
        assert KEY not in proc.stdout + proc.stderr
    assert run_cli("config", "delete-key", env=env).returncode == 0
    assert _show(env)["mode"] == "sandbox"


def test_headless_machine_falls_back_to_a_private_file(tmp_path):
    env = _env(tmp_path, keyring=False)
    proc = run_cli("config", "set-key", env=env, input=KEY + "\n")
    assert proc.returncode == 0 and "no usable OS keyring" in proc.stderr
    key_file = tmp_path / "home" / "api-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and key_file.read_text().strip() == KEY
    assert KEY not in proc.stdout + proc.stderr
    assert _show(env)["api_key_source"] == "file"


def test_environment_wins(tmp_path):
    env = _env(tmp_path, keyring=False)
    run_cli("config", "set-key", env=env, input=KEY + "\n")
    env["AIHD_API_KEY"] = "from-the-environment"
    shown = _show(env)
    assert shown["api_key_source"] == "AIHD_API_KEY" and "from-the-environment" not in json.dumps(shown)


def test_rejects_an_empty_key(tmp_path):
    proc = run_cli("config", "set-key", env=_env(tmp_path, keyring=False), input="\n")
    assert proc.returncode == 1 and "not an API key" in proc.stderr


def test_running_bridge_takes_up_a_new_key(tmp_path, sandbox, start_bridge, make_jpeg):
    bridge = start_bridge(
        sandbox.url,
        api_key=None,
        home=tmp_path / "home",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    assert bridge.get("/v1/health").json()["mode"] == "sandbox"
    proc = run_cli("config", "set-key", env=bridge.env, input=KEY + "\n")
    assert "now uses it (live mode)" in proc.stdout, proc.stdout + proc.stderr
    assert bridge.get("/v1/health").json()["mode"] == "live"
    batch = bridge.wait(bridge.upload([make_jpeg()])["batch_id"])
    assert batch["items"][0]["state"] == "done"
    assert sandbox.state.orders()[0]["key"] == key_fingerprint(KEY)  # the remote got the new key
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file() and path.name != "api-key":
            assert KEY.encode() not in path.read_bytes(), path
