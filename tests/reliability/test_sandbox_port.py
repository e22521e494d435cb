"""The sandbox's own port, in a bridge without a key and as `aihd-bridge sandbox`: a web page
(foreign Origin) or a rebound hostname can neither read what it received nor set its faults."""

import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from support import bridge_env, wait_until


def _listening_ports(pid: int) -> set[int]:
    """The TCP ports a process listens on, from /proc: its socket inodes, then the kernel's table."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


def _attacks(port: int) -> list[tuple[str, requests.Response]]:
    bare = requests.Session()
    bare.trust_env = False
    url = f"http://127.0.0.1:{port}"
    evil_origin = {"Origin": "https://evil.example"}
    rebound = {"Host": f"evil.example:{port}"}
    faults = {"script": [{"status": 500}] * 50}
    return [
        ("read, foreign Origin", bare.get(url + "/_sandbox/received", headers=evil_origin, timeout=10)),
        ("read, rebinding Host", bare.get(url + "/_sandbox/received", headers=rebound, timeout=10)),
        ("read, no token", bare.get(url + "/_sandbox/received", timeout=10)),
        (
            "faults, foreign Origin",
            bare.post(url + "/_sandbox/faults", json=faults, headers=evil_origin, timeout=10),
        ),
        (
            "faults, rebinding Host",
            bare.post(url + "/_sandbox/faults", json=faults, headers=rebound, timeout=10),
        ),
        (
            "faults, null Origin",
            bare.post(url + "/_sandbox/faults", json=faults, headers={"Origin": "null"}, timeout=10),
        ),
        ("faults, no token", bare.post(url + "/_sandbox/faults", json=faults, timeout=10)),
        (
            "faults, CORS preflight",
            bare.options(
                url + "/_sandbox/faults",
                headers={**evil_origin, "Access-Control-Request-Method": "POST"},
                timeout=10,
            ),
        ),
        (
            "order, foreign Origin",
            bare.post(
                url + "/v1/order/image",
                headers={**evil_origin, "x-api-key": "k"},
                files={"image": ("a.jpg", b"x")},
                timeout=10,
            ),
        ),
    ]


def _assert_refused(attempts):
    for name, resp in attempts:
        assert resp.status_code in (401, 403), (name, resp.status_code, resp.text[:200])
        assert "filename" not in resp.text and "sha256" not in resp.text, name
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")], name


def test_embedded_sandbox_is_guarded(make_jpeg, start_bridge, report):
    bridge = start_bridge(None, api_key=None)
    bridge.wait(bridge.upload([make_jpeg()])["batch_id"])  # the sandbox has something to tell
    ports = _listening_ports(bridge.proc.pid) - {bridge.info["port"]}
    assert len(ports) == 1, ports  # the embedded sandbox's own port
    attempts = _attacks(ports.pop())
    _assert_refused(attempts)
    batch = bridge.wait(bridge.upload([make_jpeg()])["batch_id"])
    assert batch["counts"]["done"] == 1  # no fault was set
    report("sandbox port", refused=len(attempts), setups="embedded and standalone")


def test_standalone_sandbox_is_guarded_and_usable(tmp_path):
    said = tmp_path / "sandbox-says.txt"
    with open(said, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "sandbox", "--port", "0"],
            env=bridge_env(tmp_path, api_key=None),
            stderr=out,
        )
    try:
        wait_until(lambda: "Bearer" in said.read_text() or proc.poll() is not None, 20, "the sandbox's token")
        url = re.search(r"sandbox API (?:\(v\d\) )?at (http://127\.0\.0\.1:(\d+))", said.read_text())
        token = re.search(r"Bearer ([\w-]+)", said.read_text())
        assert url and token, said.read_text()
        _assert_refused(_attacks(int(url.group(2))))
        own = requests.Session()
        own.trust_env = False
        own.headers["Authorization"] = f"Bearer {token.group(1)}"
        assert (
            own.post(
                url.group(1) + "/_sandbox/faults", json={"script": [{"status": 503}]}, timeout=10
            ).status_code
            == 200
        )
        refused = requests.post(  # the sandbox speaks v3 by default
            url.group(1) + "/v3/order",
            headers={"x-api-key": "k"},
            files={"asset_file": ("a.jpg", b"\xff\xd8\xff")},
            data={"asset_role": "primary_angle"},
            timeout=10,
        )
        assert refused.status_code == 503  # the fault set with the token took effect
        received = own.get(url.group(1) + "/_sandbox/received", timeout=10)
        assert received.status_code == 200 and received.json()[0]["status"] == 503
    finally:
        proc.terminate()
        proc.wait(10)
