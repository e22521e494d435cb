"""The status page over HTTP: signing in with a one-time code, what the page shows, thumbnails,
the remote banner, the settings view, its buttons, and `aihd-bridge open`. The attacks on it are
in tests/reliability/test_page_attacks.py, the real browser in tests/test_browser.py."""

from __future__ import annotations

import io
import os
import re
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from PIL import Image

from bridge.connect import remote_client
from bridge.core.config import load_settings
from bridge.photo.services import services
from bridge.photo.thumbnails import SIZE, Thumbnails
from bridge.runtime import Runtime
from bridge.web.app import create_app
from bridge.web.remote_banner import banner
from bridge.web.session import CODE_TTL, Sessions
from support import CANARY_KEY, bridge_env, run_cli, wait_until

TOKEN = "t" * 43
HOST = {"Host": "127.0.0.1:47311"}
AUTH = HOST | {"Authorization": f"Bearer {TOKEN}"}


class BufferedClient(FlaskClient):
    """Reads each response whole and closes it, as a server does: a file sent (a thumbnail, a
    result) would otherwise stay open until collected, a ResourceWarning."""

    def open(self, *args, **kw):
        kw.setdefault("buffered", True)
        return super().open(*args, **kw)


@pytest.fixture
def app(tmp_path):
    settings = load_settings({"AIHD_HOME": str(tmp_path / "home"), "AIHD_API_KEY": CANARY_KEY})
    runtime = Runtime(settings, remote_client)  # workers not started: items stay queued, as handed over
    app = create_app(settings, runtime=runtime, token=TOKEN, port=47311)
    app.test_client_class = BufferedClient
    yield app
    runtime.stop(0)


def _sign_in(client) -> str:
    url = client.post("/v1/session-code", headers=AUTH).get_json()["url"]
    resp = client.get(url.split("47311", 1)[1], headers=HOST)
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    page = client.get("/", headers=HOST).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _upload(client, *paths) -> dict:
    resp = client.post(
        "/v1/uploads",
        headers=AUTH,
        json={"items": [{"path": str(p), "source_id": f"s{n}"} for n, p in enumerate(paths)]},
    )
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()


def test_without_a_session_the_page_only_says_how_to_open_it(app, make_jpeg):
    client = app.test_client()
    _upload(client, make_jpeg("secret-listing.jpg"))
    for path in ("/", "/settings", "/page/live"):
        resp = client.get(path, headers=HOST)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 401, path
        assert "aihd-bridge open" in text
        assert "secret-listing" not in text and "csrf-token" not in text and "data dir" not in text
    assert client.post("/v1/session-code", headers=HOST).status_code == 401  # the token is needed


def test_the_code_works_once_for_a_cookie_that_is_httponly_strict_and_for_this_run(app):
    client = app.test_client()
    url = client.post("/v1/session-code", headers=AUTH).get_json()["url"]
    assert url.startswith("http://127.0.0.1:47311/?code=")
    path = url.split("47311", 1)[1]
    resp = client.get(path, headers=HOST)
    assert resp.status_code == 303 and resp.headers["Location"] == "/"  # the code leaves the bar
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # gone with the browser session
    assert client.get("/", headers=HOST).status_code == 200
    again = app.test_client().get(path, headers=HOST)  # someone else, same link
    assert again.status_code == 403 and "used already" in again.get_data(as_text=True)
    assert "Set-Cookie" not in again.headers


def test_codes_expire_and_sessions_end_with_the_process():
    now = [1000.0]
    sessions = Sessions(clock=lambda: now[0])
    late = sessions.new_code()
    now[0] += CODE_TTL + 1
    assert sessions.redeem(late) is None
    cookie, session = sessions.redeem(sessions.new_code())
    assert sessions.find(cookie) == session
    assert Sessions().find(cookie) is None  # a new run knows no earlier cookie
    assert not Sessions.csrf_ok(session, None) and not Sessions.csrf_ok(session, "x" * 43)
    assert Sessions.csrf_ok(session, session.csrf)


def test_page_lists_batches_newest_first_one_row_per_photo(app, make_jpeg):
    client = app.test_client()
    older = _upload(client, make_jpeg("kitchen.jpg"))
    time.sleep(0.01)  # the behaviour: a batch made later, by the clock the page orders by
    newer = _upload(client, make_jpeg("garden.jpg"), make_jpeg("hall.jpg"))
    csrf = _sign_in(client)
    page = client.get("/", headers=HOST)
    text = page.get_data(as_text=True)
    sections = re.findall(r'<section class="batch[^"]*" id="batch-([^"]+)"', text)
    assert sections == [newer["batch_id"], older["batch_id"]]
    for item in newer["items"] + older["items"]:
        row = re.search(rf'<tr id="item-{item["id"]}".*?</tr>', text, re.S).group(0)
        assert f'src="/page/thumbs/{item["id"]}"' in row
        assert 'data-state="queued"' in row
        assert services()[item["service_name"]] in row
        assert item["service_reason"] in row.replace("&#39;", "'").replace("&amp;", "&")
        assert f'action="/page/uploads/{item["id"]}/cancel"' in row and csrf in row
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in text and " style=" not in text and "onclick" not in text
    assert not [h for h, _ in page.headers if h.lower().startswith("access-control-")]


def test_live_part_answers_204_until_something_changes(app, make_jpeg):
    client = app.test_client()
    _sign_in(client)
    first = client.get("/page/live", headers=HOST)
    version = first.headers["X-Live-Version"]
    assert client.get(f"/page/live?v={version}", headers=HOST).status_code == 204
    batch = _upload(client, make_jpeg())
    changed = client.get(f"/page/live?v={version}", headers=HOST)
    assert changed.status_code == 200 and batch["batch_id"] in changed.get_data(as_text=True)


def test_buttons_need_the_sessions_csrf_token(app, make_jpeg):
    client = app.test_client()
    item = _upload(client, make_jpeg())["items"][0]
    csrf = _sign_in(client)
    url = f"/page/uploads/{item['id']}/cancel"
    assert client.post(url, headers=HOST).status_code == 403
    assert client.post(url, headers=HOST, data={"csrf": "x" * 43}).status_code == 403
    assert client.post(url, headers=HOST | {"X-CSRF-Token": csrf[:-1]}).status_code == 403
    assert client.get(f"/v1/uploads/{item['id']}", headers=AUTH).get_json()["state"] == "queued"
    plain = client.post(url, headers=HOST, data={"csrf": csrf, "back": "//evil.example/"})
    assert plain.status_code == 303 and plain.headers["Location"] == "/"  # no open redirect
    assert client.get(f"/v1/uploads/{item['id']}", headers=AUTH).get_json()["state"] == "cancelled"
    retried = client.post(f"/page/uploads/{item['id']}/retry", headers=HOST | {"X-CSRF-Token": csrf})
    assert retried.get_json() == {"queued": [item["id"]]}
    assert client.post("/page/uploads/nope/retry", headers=HOST | {"X-CSRF-Token": csrf}).status_code == 404


def test_the_api_still_wants_its_token_with_a_session_cookie(app):
    client = app.test_client()
    _sign_in(client)
    assert client.get("/v1/history", headers=HOST).status_code == 401


def test_settings_show_whether_a_key_is_set_never_the_key(app, tmp_path):
    client = app.test_client()
    _sign_in(client)
    text = client.get("/settings", headers=HOST).get_data(as_text=True)
    assert '<th scope="row">API key</th><td>set</td>' in text
    assert str(tmp_path / "home") in text and "live" in text
    assert CANARY_KEY not in text and CANARY_KEY[:12] not in text


def test_thumbnails_are_small_made_once_and_kept(app, make_jpeg):
    client = app.test_client()
    photo = make_jpeg(size=(3000, 2000), color=(90, 140, 200))
    item = _upload(client, photo)["items"][0]
    _sign_in(client)
    resp = client.get(f"/page/thumbs/{item['id']}", headers=HOST)
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert "immutable" in resp.headers["Cache-Control"]
    image = Image.open(io.BytesIO(resp.data))
    assert max(image.size) == SIZE and len(resp.data) < 20_000
    cached = app.extensions["runtime"].settings.home / "thumbs" / f"{item['id']}.jpg"
    made = cached.stat().st_mtime_ns
    for spooled in (app.extensions["runtime"].settings.home / "spool").iterdir():
        spooled.unlink()  # the copy goes once the upload is done: the thumbnail stays
    again = client.get(f"/page/thumbs/{item['id']}", headers=HOST)
    assert again.data == resp.data and cached.stat().st_mtime_ns == made
    missing = client.get("/page/thumbs/i_unknown", headers=HOST)
    assert missing.mimetype == "image/svg+xml"  # the neutral placeholder


def test_raw_thumbnails_use_the_embedded_preview_or_nothing(tmp_path):
    thumbs = Thumbnails(tmp_path / "thumbs")
    preview = io.BytesIO()
    Image.new("RGB", (160, 120), (10, 200, 30)).save(preview, "JPEG")
    exif = Image.Exif()
    exif[0x0110] = "RAW-ish"
    raw_like = tmp_path / "with-preview.tif"  # a TIFF-based RAW: IFD0, and the preview in IFD1
    Image.new("RGB", (32, 24)).save(raw_like, "TIFF", exif=exif)
    assert thumbs.make("i_none", raw_like, "NEF") is None  # no preview: placeholder, no decoding
    jpeg_with_thumb = tmp_path / "thumb.jpg"
    big = Image.new("RGB", (800, 600), (10, 200, 30))
    exif_with_thumb = _exif_with_thumbnail(preview.getvalue())
    big.save(jpeg_with_thumb, "JPEG", exif=exif_with_thumb)
    made = thumbs.make("i_raw", jpeg_with_thumb, "DNG")  # read as a RAW would be: IFD1 only
    assert made is not None
    with Image.open(made) as image:
        assert image.size == (160, 120)
    assert thumbs.make("i_broken", tmp_path / "gone.dng", "DNG") is None


def _exif_with_thumbnail(jpeg: bytes) -> bytes:
    """EXIF (TIFF) with IFD0 and an IFD1 that points at an embedded JPEG preview."""
    import struct

    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x010F, 2, 4, 0x0041_4141) + struct.pack("<I", 26)
    ifd1_entries = [(0x0201, 4, 1, 26 + 2 + 2 * 12 + 4), (0x0202, 4, 1, len(jpeg))]
    ifd1 = struct.pack("<H", 2) + b"".join(struct.pack("<HHII", *e) for e in ifd1_entries) + b"\0\0\0\0"
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1 + jpeg
    return b"Exif\x00\x00" + tiff


def test_banner_reads_healths_remote_state_or_the_waiting_items():
    soon = time.time() + 300
    limited = banner(
        {
            "state": "rate_limited",
            "since": time.time() - 60,
            "next_try": soon,
            "last_error": "the API is rate limiting uploads (HTTP 429)",
        },
        [],
    )
    assert limited["state"] == "rate_limited"
    assert limited["until"] == time.strftime("%H:%M:%S", time.localtime(soon))
    iso = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(soon))
    down = banner(
        {
            "state": "unreachable",
            "next_try": iso,
            "since": None,
            "last_error": "network error: connection refused",
        },
        [],
    )
    assert down["state"] == "unreachable" and down["until"] and "refused" in down["detail"]
    assert (
        banner(
            {"state": "ok", "since": None, "next_try": None, "last_error": None},
            [{"waiting_until": soon, "error": "x (HTTP 429)"}],
        )
        is None
    )  # health wins
    waiting = [{"waiting_until": soon, "error": "a.jpg: the API is rate limiting uploads (HTTP 429)"}]
    assert banner(None, waiting)["state"] == "rate_limited"
    assert (
        banner(None, [{"waiting_until": soon, "error": "a.jpg: network error: timed out"}])["state"]
        == "unreachable"
    )
    assert banner(None, [{"waiting_until": soon, "error": "the API had a problem (HTTP 500)"}]) is None
    assert banner(None, [{"waiting_until": None, "error": None}]) is None


def test_open_prints_or_opens_a_one_time_link_and_status_names_it(sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    env = bridge_env(bridge.home, sandbox.url)
    printed = run_cli("open", "--no-browser", env=env)
    assert printed.returncode == 0, printed.stderr
    url = re.search(r"http://127\.0\.0\.1:\d+/\?code=\S+", printed.stdout).group(0)
    http = requests.Session()
    http.trust_env = False
    assert http.get(url, allow_redirects=False, timeout=10).status_code == 303
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 403  # once only
    opener = tmp_path / "browser.sh"  # stands in for the default browser (webbrowser honours BROWSER)
    opener.write_text(f'#!/bin/sh\necho "$1" > {tmp_path / "opened.txt"}\n')
    opener.chmod(opener.stat().st_mode | stat.S_IXUSR)
    opened = run_cli("open", env=env | {"BROWSER": f"{opener} %s"})
    assert opened.returncode == 0 and "opened the status page" in opened.stdout, opened.stderr
    sent = wait_until(
        lambda: (tmp_path / "opened.txt").is_file() and (tmp_path / "opened.txt").read_text().strip(),
        10,
        "the browser to be called",
    )
    # The browser is handed a page only this user can read, not the code: argv is public (ps).
    opener = Path(urlsplit(sent).path)
    assert sent.startswith("file://") and "code" not in sent and opener.parent == bridge.home
    assert stat.S_IMODE(opener.stat().st_mode) == 0o600
    link = re.search(r'url=(http://127\.0\.0\.1:\d+/\?code=[^"]+)"', opener.read_text()).group(1)
    assert link not in opened.stdout
    # Opened from a local file, the browser calls the navigation cross-site: the code still
    # works, and the page it gets leads on to the page itself, which takes the Strict cookie.
    browser = requests.Session()
    browser.trust_env = False
    first = browser.get(link, headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False, timeout=10)
    assert first.status_code == 200 and '<meta http-equiv="refresh" content="0;url=/">' in first.text
    page = browser.get(bridge.url + "/", headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert page.status_code == 200 and 'id="live"' in page.text
    assert "status page: aihd-bridge open" in run_cli("status", env=env).stdout


def test_open_without_a_bridge_says_how_to_start_one(tmp_path):
    result = run_cli("open", env=bridge_env(tmp_path / "nobody"))
    assert result.returncode == 1 and "aihd-bridge serve" in result.stderr


def test_workers_keep_a_thumbnail_before_they_drop_the_spool_copy(sandbox, start_bridge, make_jpeg):
    bridge = start_bridge(sandbox.url)
    batch = bridge.upload([make_jpeg(size=(800, 600)), make_jpeg(size=(600, 800))])
    bridge.wait(batch["batch_id"])
    assert bridge.spool_files() == []
    for item in batch["items"]:
        thumb = bridge.home / "thumbs" / f"{item['id']}.jpg"
        assert thumb.is_file() and os.path.getsize(thumb) < 20_000


def test_results_are_served_for_this_browser_only(app, make_jpeg, tmp_path):
    client = app.test_client()
    item = _upload(client, make_jpeg())["items"][0]
    _sign_in(client)
    result = tmp_path / "front_day-to-dusk_1.jpg"
    result.write_bytes(make_jpeg().read_bytes())
    app.extensions["runtime"].store.add_result(item["id"], {"path": str(result), "src": "x", "sequence": 1})
    resp = client.get(f"/page/results/{item['id']}/1", headers=HOST)
    assert resp.status_code == 200 and resp.data == result.read_bytes()
    assert resp.headers["Cache-Control"] == "private, max-age=3600"  # never a shared cache's
