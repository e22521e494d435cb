"""`aihd-bridge doctor`: one line per check, each problem with its fix."""

import json
import socket

from bridge.sandbox import SandboxState, create_sandbox_app
from bridge.web.background import BackgroundServer
from support import CANARY_KEY, bridge_env, refusing_port, run_cli


def _checks(proc) -> dict:
    return {c["name"]: c for c in json.loads(proc.stdout)}


def test_nothing_running(tmp_path):
    # A port of its own: a bridge the user runs on 47311 must not change this test's answer.
    with refusing_port(reuse=True) as port:  # nothing answers, and the doctor's bind finds it free
        env = bridge_env(tmp_path, api_key=None, AIHD_PORT=str(port))
        proc = run_cli("doctor", "--json", env=env)
        human = run_cli("doctor", env=env)
    checks = _checks(proc)
    assert proc.returncode == 1
    assert checks["bridge"]["status"] == "fail" and "aihd-bridge serve" in checks["bridge"]["fix"]
    assert checks["api key"]["status"] == "warn" and checks["mode"]["detail"].startswith("sandbox")
    assert checks["port"]["status"] == "ok"
    assert "FAIL  bridge" in human.stdout and "->  aihd-bridge serve" in human.stdout


def test_port_held_by_another_program(tmp_path):
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        env = bridge_env(tmp_path, api_key=None, AIHD_PORT=str(stranger.getsockname()[1]))
        port = _checks(run_cli("doctor", "--json", env=env))["port"]
    assert port["status"] == "warn" and "another program" in port["detail"]


def test_running_bridge_and_online_key_check(tmp_path, start_bridge):
    good = SandboxState(api="v1")
    refusing = SandboxState(accepted_keys={"some-other-key"}, api="v1")
    with (
        BackgroundServer(create_sandbox_app(good)) as ok_api,
        BackgroundServer(create_sandbox_app(refusing)) as no_api,
    ):
        bridge = start_bridge(ok_api.url)
        proc = run_cli("doctor", "--json", "--online", env=bridge.env)
        checks = _checks(proc)
        assert checks["bridge"]["status"] == "ok" and "live mode" in checks["bridge"]["detail"]
        assert checks["api key online"]["status"] == "ok"
        assert not good.orders()  # the key check ordered nothing
        assert CANARY_KEY not in proc.stdout + proc.stderr
        env = dict(bridge.env, AIHD_API_URL=no_api.url)
        refused = _checks(run_cli("doctor", "--json", "--online", env=env))["api key online"]
        assert refused["status"] == "fail" and "refused the key" in refused["detail"]


def test_broken_rules_file_shows(tmp_path, start_bridge, sandbox):
    bridge = start_bridge(sandbox.url)
    (bridge.home / "presets.toml").write_text("[[rules]]\nname = 'x'\n")
    bridge.stop()
    bridge.start()
    rules = _checks(run_cli("doctor", "--json", env=bridge.env))["rules"]
    assert rules["status"] == "warn" and "needs a name and a service" in rules["detail"]
