"""A bridge killed with -9 leaves bridge.json behind, and another program may then hold its
port: a stranger that answers everything 200 with a made-up order. Nothing believes it."""

import json
import subprocess
import sys

import pytest
from fakehttp import RecordingServer

from support import RunningBridge, bridge_env, run_cli, wait_until

MADE_UP = "MADE-UP-ORDER-42"
STALE_TOKEN = "stale-token-0123456789-abcdefghijklmnopqrstuv"


def _stranger_answer(method, path):
    """Whatever a client of the bridge could want to hear, all made up, always 200."""
    item = {
        "id": "i_x",
        "path": "/whatever.jpg",
        "state": "done",
        "order_id": MADE_UP,
        "error": None,
        "service_name": "service-image-enhancement",
        "service_reason": "made up",
        "attempts": 1,
        "waiting_until": None,
    }
    body = {
        "status": "ok",
        "mode": "live",
        "version": "9.9",
        "queue": {"queued": 0, "waiting": 0, "uploading": 0, "done": 1, "failed": 0},
        "batch_id": "b_made_up",
        "finished": True,
        "bytes_total": 1,
        "bytes_sent": 1,
        "items": [item],
        "order_id": MADE_UP,
        "pid": 1,
        "proof": "0" * 64,
        "mode_": "live",
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


@pytest.fixture
def stranger():
    with RecordingServer(_stranger_answer) as server:
        yield server


@pytest.fixture
def foreign_pid():
    """A live process that is not the bridge (what a reused pid would be)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _stale_file(home, stranger, pid: int):
    home.mkdir(exist_ok=True)
    info = {"url": stranger.url, "port": stranger.port, "pid": pid, "token": STALE_TOKEN, "version": "0.1.0"}
    (home / "bridge.json").write_text(json.dumps(info))
    (home / "bridge.json").chmod(0o600)


def _nothing_given_away(stranger, *secrets):
    for secret in (STALE_TOKEN, *secrets):
        assert not stranger.seen(secret), (secret, stranger.requests)
    assert not any("Authorization" in r["headers"] for r in stranger.requests)


@pytest.mark.parametrize("alive", [True, False], ids=["pid reused", "pid gone"])
def test_upload_never_believes_a_stranger(tmp_path, stranger, foreign_pid, make_jpeg, alive):
    home = tmp_path / "home"
    _stale_file(home, stranger, foreign_pid.pid if alive else _dead_pid())
    photo = make_jpeg()
    proc = run_cli("upload", photo, env=bridge_env(home, api_key=None))  # no bridge: the sandbox, in process
    _nothing_given_away(stranger, str(photo), photo.name)
    assert MADE_UP not in proc.stdout + proc.stderr
    assert proc.returncode == 0 and "order sandbox-" in proc.stdout, proc.stdout + proc.stderr
    assert "removed the stale bridge.json" in proc.stderr
    assert not (home / "bridge.json").exists()
    assert foreign_pid.poll() is None


@pytest.mark.parametrize("alive", [True, False], ids=["pid reused", "pid gone"])
def test_status_and_stop_say_there_is_no_bridge(tmp_path, stranger, foreign_pid, alive, report):
    home = tmp_path / "home"
    env = bridge_env(home, api_key=None)
    pid = foreign_pid.pid if alive else _dead_pid()
    for command in (("status",), ("status", "--json"), ("stop",)):
        _stale_file(home, stranger, pid)
        proc = run_cli(*command, env=env)
        assert "Traceback" not in proc.stderr, proc.stderr
        if command == ("status", "--json"):
            assert json.loads(proc.stdout)["running"] is False
        else:
            assert "the bridge is not running" in proc.stdout, proc.stdout + proc.stderr
        assert not (home / "bridge.json").exists(), command
        assert foreign_pid.poll() is None, "stop signalled a process that is not the bridge"
    _nothing_given_away(stranger)
    report("stranger on the port", believed=0, token_sent=0, foreign_pid_signalled=0)


def test_serve_starts_beside_a_stranger_on_its_port(tmp_path, stranger, foreign_pid, make_jpeg):
    home = tmp_path / "home"
    _stale_file(home, stranger, foreign_pid.pid)
    env = bridge_env(home, api_key=None, AIHD_PORT=str(stranger.port))
    bridge = RunningBridge(home, env)
    bridge.log = open(home / "serve-output.txt", "ab")
    bridge.proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve"], env=env, stdout=bridge.log, stderr=subprocess.STDOUT
    )
    try:
        info: dict = {}

        def its_own_info() -> bool:  # bridge.json written by this bridge (or the bridge gone)
            try:
                info.update(json.loads((home / "bridge.json").read_text()))
            except (OSError, ValueError):
                pass
            return info.get("pid") == bridge.proc.pid or bridge.proc.poll() is not None

        wait_until(its_own_info, 20, "the bridge's bridge.json")
        said = (home / "serve-output.txt").read_text()
        assert info.get("pid") == bridge.proc.pid, said
        assert info["port"] != stranger.port and info["token"] != STALE_TOKEN
        assert f"port {stranger.port} is used by another program" in said
        photo = make_jpeg()
        upload = run_cli("upload", photo, env=env)
        assert upload.returncode == 0 and "handed to the bridge" in upload.stderr, upload.stderr
        stop = subprocess.Popen(
            [sys.executable, "-m", "bridge", "stop"], env=env, stdout=subprocess.PIPE, text=True
        )
        assert bridge.proc.wait(30) == 0  # reaped here, its parent, so that `stop` sees it gone
        assert "the bridge stopped" in stop.communicate(timeout=30)[0]
    finally:
        bridge.stop()
    assert foreign_pid.poll() is None
    _nothing_given_away(stranger, str(photo))


def test_stop_still_stops_an_earlier_bridge_that_cannot_prove_itself(tmp_path):
    """A bridge from before /v1/identity (as when install.sh updates): it asks for the token
    (401) and runs as this user's `aihd-bridge serve`, so `stop` may signal it; nothing else."""
    home = tmp_path / "home"
    env = bridge_env(home, api_key=None)
    earlier = subprocess.Popen(
        ["bash", "-c", f'exec -a aihd-bridge "{sys.executable}" -c "import time; time.sleep(120)" serve']
    )
    asks_token = (401, {"Content-Type": "application/json"}, b'{"error": "missing or wrong token"}')
    try:
        with RecordingServer(lambda *_: asks_token) as old_bridge:
            _stale_file(home, old_bridge, earlier.pid)
            status = run_cli("status", env=env)
            assert f"an earlier bridge (pid {earlier.pid})" in status.stdout, status.stdout
            assert (home / "bridge.json").exists()  # it may well be that bridge's file
            stop = subprocess.Popen(
                [sys.executable, "-m", "bridge", "stop"], env=env, stdout=subprocess.PIPE, text=True
            )
            assert earlier.wait(30) == -15  # SIGTERM
            assert "the bridge stopped" in stop.communicate(timeout=30)[0]
            _nothing_given_away(old_bridge)
    finally:
        earlier.kill()
        earlier.wait()
