"""The status page in a real browser: Playwright driving the system Chromium (Debian's
`chromium`, which `install.sh --test` installs; `playwright install` is never needed).

Screenshots of the main views go to pytest's temporary folder, or to $AIHD_SCREENSHOTS when set
(`AIHD_SCREENSHOTS=docs/screenshots` refreshes the pictures of the README and docs/)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from flask import Flask, Response

from bridge.sandbox import Fault, FaultPlan
from bridge.web.background import BackgroundServer
from support import bridge_env, run_cli, wait_until

# On one worker: one Chromium for the module (the `browser` fixture), not one per worker, which
# would add the start-up and memory of another browser on CI's two cores; long all together.
pytestmark = [pytest.mark.xdist_group("chromium"), pytest.mark.long(30)]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 15_000  # every wait in the page has this deadline


def _chromium() -> str | None:
    found = os.environ.get("AIHD_CHROMIUM")
    if found:
        return found
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    executable = _chromium()
    if executable is None:
        pytest.skip("no chromium on this machine (apt-get install chromium, or set AIHD_CHROMIUM)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("AIHD_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _room(path: Path, wall, floor) -> Path:
    """A photo-like picture of a room (wall, floor, window), so thumbnails show something."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (1200, 800), wall)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 560, 1200, 800), fill=floor)
    draw.rectangle((460, 180, 760, 520), fill=(236, 240, 244))
    draw.line((610, 180, 610, 520), fill=wall, width=8)
    exif = Image.Exif()
    exif[0x010E] = path.stem  # distinct bytes per photo
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85, exif=exif.tobytes())
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def rooms(tmp_path):
    colours = [
        ((214, 200, 182), (120, 96, 70)),
        ((190, 206, 218), (96, 80, 64)),
        ((222, 214, 196), (140, 110, 84)),
        ((200, 190, 210), (90, 90, 96)),
        ((206, 220, 200), (110, 100, 80)),
    ]
    names = ["living-room", "kitchen", "bedroom", "hallway", "terrace"]

    def make(count: int, prefix: str = "") -> list[Path]:
        folder = tmp_path / "rooms"
        folder.mkdir(exist_ok=True)
        return [
            _room(folder / f"{prefix}{names[n % 5]}-{n + 1:02d}.jpg", *colours[n % 5]) for n in range(count)
        ]

    return make


def _sign_in(page, bridge) -> None:
    page.goto(bridge.post("/v1/session-code").json()["url"])
    assert page.url == bridge.url + "/"  # the code left the address bar


def test_page_follows_a_batch_and_retries_from_the_page(context, sandbox, start_bridge, rooms, shots):
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nworkers = 1\n")
    page = context.new_page()
    _sign_in(page, bridge)
    page.wait_for_selector("text=No uploads yet")
    # The first upload lasts 3 s, so that the page (a long poll) shows it under way on a busy machine too.
    sandbox.state.faults = FaultPlan(script=[Fault(delay=3), Fault(status=400)])
    batch = bridge.upload(rooms(3))
    first, failing, last = (f"#item-{i['id']}" for i in batch["items"])
    # No reload: the page's own script brings the batch in and follows it.
    page.wait_for_selector(f'{first}[data-state="uploading"]')
    page.wait_for_selector(f'{first}[data-state="done"]')
    page.wait_for_selector(f'{failing}[data-state="failed"]')
    page.wait_for_selector(f'{last}[data-state="done"]')
    assert "HTTP 400" in page.inner_text(f"{failing} .error")
    order = bridge.get(f"/v1/uploads/{batch['items'][0]['id']}").json()["order_id"]
    assert page.inner_text(f"{first} .order-id") == order
    thumb = page.locator(f"{first} img")
    assert thumb.evaluate("img => img.complete && img.naturalWidth") > 100  # a real thumbnail
    page.screenshot(path=str(shots / "status-page-failed.png"), full_page=True)
    page.click(f"{failing} button.retry")
    page.wait_for_selector(f'{failing}[data-state="done"]')
    assert bridge.get(f"/v1/uploads/{batch['items'][1]['id']}").json()["order_id"]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=bridge.url)
    page.click(f"{first} button.copy")
    page.wait_for_selector(f"{first} button.copy:has-text('Copied')")
    assert page.evaluate("() => navigator.clipboard.readText()") == order


def test_open_signs_in_through_a_private_file_with_the_code_off_the_command_line(
    context, sandbox, start_bridge, tmp_path
):
    bridge = start_bridge(sandbox.url)
    recorder = tmp_path / "browser.sh"  # stands in for the default browser: records its argv
    recorder.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "argv.txt"}\n')
    recorder.chmod(0o700)
    opened = run_cli("open", env=bridge_env(bridge.home, sandbox.url) | {"BROWSER": f"{recorder} %s"})
    assert opened.returncode == 0, opened.stderr
    argv = wait_until(lambda: (tmp_path / "argv.txt").is_file() and (tmp_path / "argv.txt").read_text(), 10)
    assert argv.startswith("file://") and "code" not in argv  # what `ps` would show
    page = context.new_page()
    page.goto(argv.strip())  # what the real browser does with it
    page.wait_for_selector("#live")
    assert page.url == bridge.url + "/"


def test_the_login_code_works_once(context, browser, sandbox, start_bridge, shots):
    bridge = start_bridge(sandbox.url)
    url = bridge.post("/v1/session-code").json()["url"]
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#live")
    assert "code=" not in page.url
    page.go_back()  # the code is not in the history either: back leaves the site
    assert page.url == "about:blank"
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        response = other.goto(url)
        assert response.status == 403
        assert "used already" in other.inner_text("main")
        assert "aihd-bridge open" in other.inner_text("main")
        assert other.locator("#live").count() == 0 and "code=" in other.url
        other.goto(bridge.url + "/")
        assert other.locator("#live").count() == 0
        other.screenshot(path=str(shots / "login-needed.png"))
    finally:
        stranger.close()


EVIL = """<!doctype html><meta charset="utf-8"><title>another local page</title>
<iframe id="frame" src="{bridge}/"></iframe>
<iframe name="sink" id="sink"></iframe>
<form id="form" method="post" action="{bridge}/page/uploads/{item}/retry" target="sink">
  <input name="csrf" value="guessed"></form>
<img id="thumb" src="{bridge}/page/thumbs/{item}">
<script>
const out = {{}};
const bridge = "{bridge}";
async function run() {{
  try {{ await (await fetch(bridge + "/", {{credentials: "include"}})).text(); out.read = "read"; }}
  catch (e) {{ out.read = "blocked"; }}
  try {{ await (await fetch(bridge + "/page/live", {{credentials: "include"}})).text(); out.live = "read"; }}
  catch (e) {{ out.live = "blocked"; }}
  try {{ await fetch(bridge + "/page/uploads/{item}/retry", {{method: "POST", mode: "no-cors",
           credentials: "include", body: new URLSearchParams({{csrf: "guessed"}})}}); out.press = "sent"; }}
  catch (e) {{ out.press = "blocked"; }}
  try {{ await fetch(bridge + "/v1/session-code",
                    {{method: "POST", mode: "no-cors", credentials: "include"}}); }}
  catch (e) {{}}
  document.getElementById("sink").addEventListener("load", () => {{ window.posted = true; }});
  document.getElementById("form").submit();
  const img = document.getElementById("thumb");
  out.thumb = img.complete && img.naturalWidth > 0 ? "loaded" : "blocked";
  try {{ out.frame = document.getElementById("frame").contentDocument ? "readable" : "blocked"; }}
  catch (e) {{ out.frame = "blocked"; }}
  window.result = out;
}}
window.addEventListener("load", run);
</script>"""


def test_a_page_from_another_origin_reads_and_changes_nothing(context, sandbox, start_bridge, rooms):
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nworkers = 1\n")
    sandbox.state.faults = FaultPlan(script=[Fault(status=400)])
    batch = bridge.upload(rooms(1, "evil-"))
    item = batch["items"][0]["id"]
    bridge.wait(batch["batch_id"])
    page = context.new_page()
    _sign_in(page, bridge)  # the browser holds a valid session cookie for the bridge
    page.wait_for_selector(f'#item-{item}[data-state="failed"] img')
    app = Flask("another-local-origin")
    app.get("/")(lambda: Response(EVIL.format(bridge=bridge.url, item=item), mimetype="text/html"))
    with BackgroundServer(app) as other:  # 127.0.0.1 on another port: same site, other origin
        evil = context.new_page()
        evil.goto(other.url + "/")
        result = evil.wait_for_function("() => window.result").json_value()
        result.pop("press")  # whether the browser let it out or not, the bridge must refuse it
        assert result == {"read": "blocked", "live": "blocked", "thumb": "blocked", "frame": "blocked"}, (
            result
        )
        evil.wait_for_function("() => window.posted")  # the bridge answered the form's post
    assert bridge.get(f"/v1/uploads/{item}").json()["state"] == "failed"
    assert len(sandbox.state.received) == 1  # never sent again
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: no script reads it


def test_screenshots_of_the_main_views(context, sandbox, start_bridge, rooms, shots):
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nworkers = 1\n")
    earlier = bridge.upload(rooms(3, "a-"))
    bridge.wait(earlier["batch_id"])
    sandbox.state.faults = FaultPlan(
        script=[Fault(), Fault(status=415), Fault(status=429, retry_after="900")]
    )
    latest = bridge.upload(rooms(4, "b-"))
    wait_until(
        lambda: bridge.get(f"/v1/batches/{latest['batch_id']}").json()["counts"]["waiting"],
        20,
        "the rate limit",
    )
    page = context.new_page()
    _sign_in(page, bridge)
    page.wait_for_selector(".banner-rate_limited")
    assert "until" in page.inner_text(".banner")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    page.screenshot(path=str(shots / "status-page.png"), full_page=True)
    page.click("nav >> text=Settings")
    page.wait_for_selector("table.settings")
    assert "canary" not in page.content().lower()
    page.screenshot(path=str(shots / "settings.png"))
    for name in ("status-page.png", "settings.png"):
        assert (shots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
