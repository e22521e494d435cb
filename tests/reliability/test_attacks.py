"""Attacks on the local port: every request a web page or another machine could make is refused,
and no answer carries a CORS header."""

import socket
from pathlib import Path

import requests


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of sockets listening on `port`, read from the kernel's tables: this
    proves where the bridge can be reached without sending a packet anywhere but loopback."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if width == 8:
                    found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_refused_requests(sandbox, start_bridge, report):
    bridge = start_bridge(sandbox.url)
    port, url = bridge.info["port"], bridge.url
    token = bridge.http.headers["Authorization"]
    bare = requests.Session()
    bare.trust_env = False
    wrong = "Bearer " + ("A" if token[7] != "A" else "B") + token[8:]  # one character off
    attempts = [
        ("no token", "get", "/v1/history", {}, None, 401),
        ("wrong token", "get", "/v1/history", {"Authorization": wrong}, None, 401),
        ("token without Bearer", "get", "/v1/history", {"Authorization": token[7:]}, None, 401),
        (
            "DNS rebinding Host",
            "get",
            "/v1/history",
            {"Authorization": token, "Host": f"evil.example:{port}"},
            None,
            403,
        ),
        ("Host without port", "get", "/v1/history", {"Authorization": token, "Host": "127.0.0.1"}, None, 403),
        (
            "look-alike Host",
            "get",
            "/v1/history",
            {"Authorization": token, "Host": f"localhost.evil.example:{port}"},
            None,
            403,
        ),
        ("rebinding on health", "get", "/v1/health", {"Host": f"evil.example:{port}"}, None, 403),
        (
            "cross-site Origin",
            "get",
            "/v1/history",
            {"Authorization": token, "Origin": "https://evil.example"},
            None,
            403,
        ),
        (
            "null Origin",
            "post",
            "/v1/uploads",
            {"Authorization": token, "Origin": "null"},
            {"json": {"items": []}},
            403,
        ),
        (
            "CORS preflight",
            "options",
            "/v1/uploads",
            {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            None,
            403,
        ),
        (
            "form CSRF with token",
            "post",
            "/v1/uploads",
            {"Authorization": token},
            {"data": {"items": "x"}},
            415,
        ),
        (
            "text/plain CSRF",
            "post",
            "/v1/uploads",
            {"Content-Type": "text/plain"},
            {"data": '{"items": []}'},
            401,
        ),
        ("form CSRF without token", "post", "/v1/uploads", {}, {"data": {"items": "x"}}, 401),
        ("key reload without token", "post", "/v1/config/reload", {}, None, 401),
    ]
    for name, method, path, headers, body, status in attempts:
        resp = getattr(bare, method)(url + path, headers=headers, timeout=10, **(body or {}))
        assert resp.status_code == status, (name, resp.status_code, resp.text)
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")], name
    listening = _listening_addresses(port)
    assert listening == ["127.0.0.1"], listening  # not 0.0.0.0, not any other interface
    report("local port attacks", refused=len(attempts), cors_headers_sent=0, listens_on=" ".join(listening))
