"""Attacks on the status page of a running bridge, with real HTTP: another local origin (a second
server on another port, which a browser counts as the *same site*) can neither read the page
nor press its buttons, even with the session cookie the browser holds; a login code works once;
a cookie from an earlier run is refused; a missing or wrong CSRF token is refused."""

from __future__ import annotations

from flask import Flask

from bridge.web.background import BackgroundServer
from support import RunningBridge, bridge_env, browser_session


def _no_cors(resp) -> bool:
    return not [h for h in resp.headers if h.lower().startswith("access-control-")]


def test_another_local_origin_can_neither_read_nor_press(sandbox, start_bridge, photos, report):
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nworkers = 1\n")
    batch = bridge.upload(photos(2))
    bridge.wait(batch["batch_id"])
    item = batch["items"][0]["id"]
    http, csrf = browser_session(bridge)
    other = BackgroundServer(Flask("other-origin"))  # really there, on another port
    with other:
        evil = other.url  # http://127.0.0.1:<another port>
        # What a browser sends for that page's requests: its cookies (same site), its Origin,
        # and Sec-Fetch-Site "same-site". Each attempt also tried with the valid CSRF token.
        as_browser = {"Origin": evil, "Sec-Fetch-Site": "same-site"}
        no_origin = {"Sec-Fetch-Site": "same-site"}  # <img>, <iframe>, a no-cors GET
        attempts = [
            ("read the page", "get", "/", as_browser, None, 403),
            ("read the page, no Origin", "get", "/", no_origin, None, 403),
            ("read the live part", "get", "/page/live", no_origin, None, 403),
            ("read the settings", "get", "/settings", no_origin, None, 403),
            ("load a thumbnail", "get", f"/page/thumbs/{item}", no_origin, None, 403),
            ("frame the page", "get", "/", no_origin | {"Sec-Fetch-Dest": "iframe"}, None, 403),
            (
                "press retry (fetch)",
                "post",
                f"/page/uploads/{item}/retry",
                as_browser | {"X-CSRF-Token": csrf},
                None,
                403,
            ),
            (
                "press cancel (form)",
                "post",
                f"/page/batches/{batch['batch_id']}/cancel",
                as_browser,
                {"csrf": csrf},
                403,
            ),
            ("ask for a login code", "post", "/v1/session-code", as_browser, None, 403),
            (
                "preflight",
                "options",
                f"/page/uploads/{item}/retry",
                as_browser | {"Access-Control-Request-Method": "POST"},
                None,
                403,
            ),
            ("rebound Host", "get", "/", {"Host": f"evil.example:{bridge.info['port']}"}, None, 403),
        ]
        for name, method, path, headers, form, status in attempts:
            resp = getattr(http, method)(
                bridge.url + path, headers=headers, data=form, allow_redirects=False, timeout=10
            )
            assert resp.status_code == status, (name, resp.status_code, resp.text[:200])
            assert _no_cors(resp), name
            assert item not in resp.text and csrf not in resp.text, name
    page = http.get(bridge.url + "/", timeout=10)  # the same cookie, from the page's own origin
    assert page.status_code == 200 and item in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and _no_cors(page)
    assert sum(1 for r in sandbox.state.received) == 2  # nothing was sent again
    report("status page attacks", refused=len(attempts), cors_headers_sent=0)


def test_codes_work_once_cookies_live_for_one_run_and_buttons_need_csrf(sandbox, tmp_path, photos, report):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("retry_base = 0.05\n")
    first = RunningBridge(home, bridge_env(home, sandbox.url, AIHD_PORT="0")).start()
    # Both runs on the same port, so that the browser would send the old cookie: the second asks
    # for the port the first was given (were it taken in between, the check below would say so).
    port = first.info["port"]
    try:
        batch = first.upload(photos(1))
        first.wait(batch["batch_id"])
        item = batch["items"][0]["id"]
        code_url = first.post("/v1/session-code").json()["url"]
        http, _ = browser_session(first)
        assert http.get(code_url, allow_redirects=False, timeout=10).status_code == 303
        reused = http.__class__()
        reused.trust_env = False
        again = reused.get(code_url, allow_redirects=False, timeout=10)
        assert again.status_code == 403 and "Set-Cookie" not in again.headers
        guessed = reused.get(first.url + "/?code=" + "A" * 32, allow_redirects=False, timeout=10)
        assert guessed.status_code == 403
        refused = 2
        other, other_csrf = browser_session(first)  # a second session: its own token
        _, csrf = browser_session(first)
        for name, headers, form in [
            ("no token", {}, None),
            ("wrong token", {"X-CSRF-Token": csrf[:-2] + "xx"}, None),
            ("empty form token", {}, {"csrf": ""}),
            ("another session's token", {"X-CSRF-Token": csrf}, None),
        ]:
            resp = other.post(
                f"{first.url}/page/uploads/{item}/retry",
                headers=headers,
                data=form,
                allow_redirects=False,
                timeout=10,
            )
            assert resp.status_code == 403, (name, resp.status_code)
            assert "CSRF" in resp.json()["error"]
            refused += 1
        ok = other.post(
            f"{first.url}/page/uploads/{item}/retry", headers={"X-CSRF-Token": other_csrf}, timeout=10
        )
        assert ok.status_code == 200  # the right token does work (a done item: nothing queued)
        old_cookies = http.cookies.copy()
    finally:
        first.stop()
    second = RunningBridge(home, bridge_env(home, sandbox.url, AIHD_PORT=str(port))).start()
    try:
        assert second.info["port"] == port
        stale = http.__class__()
        stale.trust_env = False
        stale.cookies.update(old_cookies)
        for path in ("/", "/page/live", f"/page/thumbs/{item}"):
            resp = stale.get(second.url + path, timeout=10)
            assert resp.status_code == 401 and item not in resp.text, path
            refused += 1
        stale_code = stale.get(code_url, allow_redirects=False, timeout=10)
        assert stale_code.status_code == 403  # codes die with their run too
        refused += 1
    finally:
        second.stop()
    report("status page sessions", refused=refused)


def test_a_buttons_way_back_leads_only_to_the_page_itself(sandbox, start_bridge, photos, report):
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nworkers = 1\n")
    batch_id = bridge.upload(photos(1))["batch_id"]
    http, csrf = browser_session(bridge)
    own = f"/?batch={batch_id}"
    cases = {
        "/\t/evil.example": "/",  # `back=/%09/evil.example` in the form's body
        "/%09/evil.example": "/",
        "/\r\n/evil.example": "/",
        "/\r\nSet-Cookie: stolen=1": "/",
        "//evil.example/": "/",
        "/\\evil.example": "/",
        "https://evil.example/": "/",
        "javascript:alert(1)": "/",
        "/?batch=../../evil": "/",
        "/settings": "/",
        own: own,
        own + "&next=//evil.example": own,
    }
    for back, expected in cases.items():
        resp = http.post(
            f"{bridge.url}/page/batches/{batch_id}/retry",
            data={"csrf": csrf, "back": back},
            allow_redirects=False,
            timeout=10,
        )
        assert resp.status_code == 303 and resp.headers["Location"] == expected, (back, resp.status_code)
    report("page redirects", tried=len(cases), led_elsewhere=0, server_errors=0)
