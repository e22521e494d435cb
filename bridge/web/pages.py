"""The status page: batches with live progress, one row per photo, and the settings.

Reached with a one-time code from `POST /v1/session-code` (`aihd-bridge open`), traded here for
an HttpOnly, SameSite=Strict cookie that this run of the bridge alone knows. The app's guard
checks Host and Origin for these routes as for the API; this blueprint checks the cookie, the
fetch metadata (another port of 127.0.0.1 is "same-site", so SameSite alone is not enough)
and, on every request that changes something, the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path, PurePath
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, send_file
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from .. import __version__
from ..photo.services import services
from ..runtime import Runtime
from .errors import error_response
from .remote_banner import banner, clock
from .routes import act, batch_view
from .session import COOKIE, Sessions

pages = Blueprint(
    "pages", __name__, template_folder="templates", static_folder="static", static_url_path="/page/static"
)
RECENT_BATCHES = 20
ROWS_PER_BATCH = 200  # beyond that the batch's own view shows them all
# Nothing but this origin's own files: no inline script or style, no frames, no plug-ins.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
OWN_FETCH = {"same-origin", "none"}  # "none": opened from outside a page (a typed URL, a link)
LOGIN_HINT = "aihd-bridge open"
PLACEHOLDER = Path(__file__).parent / "static" / "placeholder.svg"
BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@pages.record_once
def _sessions(state: BlueprintSetupState) -> None:
    state.app.extensions["sessions"] = Sessions()


@pages.app_template_filter("clock")
def _clock(epoch: float | None) -> str:
    return clock(epoch) if epoch else ""


@pages.app_template_filter("basename")
def _basename(path: str) -> str:
    return PurePath(path).name


@pages.app_template_filter("error_text")
def _error_text(item: dict) -> str:
    """The error without the file's path in front: the row shows the path already."""
    error, path = item["error"] or "", item["path"] or ""
    return error[len(path) + 2 :] if path and error.startswith(path + ": ") else error


@pages.app_template_filter("size")
def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _sessions_of_app() -> Sessions:
    return current_app.extensions["sessions"]


def _cookie_name() -> str:
    # Cookies are shared by every port of a host: two bridges must not overwrite each other's.
    return f"{COOKIE}_{current_app.config['BRIDGE_PORT']}"


@pages.before_request
def check_session() -> ResponseReturnValue | None:
    if request.endpoint == "pages.static":
        return None  # the stylesheet and script hold nothing private
    if request.endpoint == "pages.index" and "code" in request.args:
        # Index trades the code for a session. The code is the credential (only the token's
        # holder gets one), so it is taken from anywhere: `aihd-bridge open` hands the browser
        # a local file that leads here, a navigation browsers call cross-site.
        return None
    if request.headers.get("Sec-Fetch-Site", "none") not in OWN_FETCH:
        return _login_page(403, "This page opens only from its own address.")
    session = _sessions_of_app().find(request.cookies.get(_cookie_name()))
    if session is None:
        return _login_page(401)
    if request.method == "POST":
        supplied = request.headers.get("X-CSRF-Token") or request.form.get("csrf")
        if not Sessions.csrf_ok(session, supplied):
            return error_response(403, "missing or wrong CSRF token: reload the page")
    g.session = session
    return None


@pages.after_request
def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"  # the login code never leaks on
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    return response


def _login_page(status: int, reason: str | None = None) -> tuple[str, int]:
    return render_template("login.html", reason=reason, command=LOGIN_HINT), status


@pages.get("/")
def index() -> ResponseReturnValue:
    if "code" in request.args:
        return _redeem(request.args["code"])
    only = request.args.get("batch")
    return render_template("index.html", session=g.session, **_live(only))


def _redeem(code: str) -> ResponseReturnValue:
    sessions = _sessions_of_app()
    granted = sessions.redeem(code)
    if granted is None:
        if sessions.find(request.cookies.get(_cookie_name())) is not None:
            return redirect("/", 303)  # a used link opened again by someone already in
        return _login_page(403, "This link was used already or has expired.")
    cookie, _session = granted
    if request.headers.get("Sec-Fetch-Site", "none") in OWN_FETCH:
        # 303 to the bare address: the code leaves the address bar, and its history entry.
        response = redirect("/", 303)
    else:  # a redirect would stay cross-site, without the Strict cookie: the page moves on itself
        response = current_app.make_response(render_template("signed_in.html"))
    response.set_cookie(_cookie_name(), cookie, httponly=True, samesite="Strict", path="/")
    return response


@pages.get("/page/live")
def live() -> ResponseReturnValue:
    """The live part of the page (banner and batches) for the page's script to swap in;
    204 when nothing changed since the version the page has."""
    context = _live(request.args.get("batch"))
    if request.args.get("v") == context["version"]:
        return "", 204
    response = current_app.make_response(render_template("_live.html", session=g.session, **context))
    response.headers["X-Live-Version"] = context["version"]
    return response


def _live(only: str | None) -> dict:
    rt = current_app.extensions["runtime"]
    if only:
        one = rt.store.batch(only)
        raw = [one] if one is not None else []
    else:
        raw = rt.store.recent_batches(RECENT_BATCHES)
    batches = [batch_view(b, rt.pool.progress) for b in raw]
    for item in (i for b in batches for i in b["items"]):
        # Results as the page shows them: its own guarded address for each file on disk.
        item["results"] = [
            {"url": f"/page/results/{item['id']}/{r['sequence']}", "label": f"result {r['sequence']}"}
            for r in item["results"]
        ]
    status = _status(rt)
    notice = banner(status.get("remote"), [i for b in batches for i in b["items"]])
    # A watch in trouble (file events stopped, the folder gone) is said at the top.
    watch_notes = [{"dir": v["dir"], "problem": v["problem"]} for v in rt.watches.views() if v["problem"]]
    for b in batches:
        b["version"] = _digest(b)
        b["shown"] = b["items"] if only else b["items"][:ROWS_PER_BATCH]
    version = _digest(
        [notice, watch_notes, status.get("mode"), status.get("submits"), [b["version"] for b in batches]]
    )
    return {
        "batches": batches,
        "banner": notice,
        "banner_version": _digest([notice, status.get("submits")]),
        "watch_notes": watch_notes,
        "watch_notes_version": _digest(watch_notes),
        "health": status,
        "version": version,
        "only": only,
        "services": services(),
    }


def _status(rt: Runtime) -> dict:
    """What the page's header and banner show, from the runtime itself: the live part asks
    every second, and /v1/health would count the whole queue each time."""
    return {
        "mode": rt.mode,
        "version": __version__,
        "remote": rt.pool.health.snapshot(),
        "api": rt.client.version,
        "submits": rt.orders.outlook().note,
    }


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


@pages.get("/settings")
def settings() -> ResponseReturnValue:
    rt = current_app.extensions["runtime"]
    s = rt.settings
    rows = [
        (
            "mode",
            rt.mode + (" (no API key: uploads go to the embedded sandbox)" if rt.mode == "sandbox" else ""),
        ),
        ("API key", "set" if s.api_key else "not set"),
        ("API", s.api_url if rt.mode == "live" else "embedded sandbox"),
        ("API version", f"{rt.client.version or 'not known yet'} (setting: {s.api_version})"),
        ("submits", f"at most {s.submit_limit} per {s.submit_window:g} s (the API's limit)"),
        ("data dir", str(s.home)),
        ("address", f"http://127.0.0.1:{current_app.config['BRIDGE_PORT']}"),
        ("version", __version__),
        ("upload workers", str(s.workers)),
        ("attempts per photo", f"{s.max_attempts} (first retry after {s.retry_base:g} s, then doubling)"),
        ("wait after a 429", f"{s.rate_limit_wait:g} s unless the API says how long"),
        ("size limit", f"{s.max_upload_bytes:,} bytes"),
        ("HEIC to JPEG", "yes" if s.convert_heic else "no"),
        ("timeouts", f"connect {s.connect_timeout:g} s, read {s.read_timeout:g} s"),
        ("rules", rt.rules.problem or "presets.toml is fine"),
    ]
    return render_template("settings.html", session=g.session, rows=rows, health=_status(rt))


@pages.get("/page/thumbs/<item_id>")
def thumbnail(item_id: str) -> ResponseReturnValue:
    rt = current_app.extensions["runtime"]
    path = rt.thumbnails.cached(item_id)
    if path is None:
        copy = rt.store.spool_copy(item_id)
        path = rt.thumbnails.make(item_id, *copy) if copy else None
    if path is None:  # gone, damaged, or a RAW without a preview
        return send_file(PLACEHOLDER, mimetype="image/svg+xml", max_age=60)
    # Made once per item and never changed: the browser may keep it.
    response = send_file(path, mimetype="image/jpeg", max_age=365 * 86400)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


@pages.get("/page/results/<item_id>/<int:sequence>")
def result_file(item_id: str, sequence: int) -> ResponseReturnValue:
    """A result image the bridge downloaded, for the row's before and after."""
    item = current_app.extensions["runtime"].store.item(item_id)
    found = next((r for r in (item or {}).get("results") or [] if r.get("sequence") == sequence), None)
    if found is None or not Path(found["path"]).is_file():
        return send_file(PLACEHOLDER, mimetype="image/svg+xml", max_age=60)
    mime = {".png": "image/png", ".webp": "image/webp"}.get(Path(found["path"]).suffix.lower(), "image/jpeg")
    response = send_file(found["path"], mimetype=mime, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"  # a user's photo: no shared cache
    return response


@pages.post("/page/<kind>/<ident>/<action>")
def action(kind: str, ident: str, action: str) -> ResponseReturnValue:
    if kind not in ("batches", "uploads") or action not in ("retry", "cancel"):
        return error_response(404, "no such action")
    target = {"batch_id": ident} if kind == "batches" else {"item_id": ident}
    answer = act(cancel=action == "cancel", **target)
    if request.headers.get("X-CSRF-Token"):
        return answer  # the page's script: it refreshes the list itself
    # A plain form, without the script: back to the page it came from.
    return redirect(_own_page(request.form.get("back", "/")), 303)


def _own_page(back: str) -> str:
    """The page's own address `back` names (the page, or one batch of it), rebuilt from its
    parts; "/" for anything else. Browsers drop tabs and line breaks from a Location, so
    `/\t/evil.com` would lead to another site: nothing is passed through as given."""
    url = urlsplit(back)
    batch = parse_qs(url.query).get("batch", [""])[0]
    if url.scheme or url.netloc or url.path != "/" or not BATCH_ID.fullmatch(batch):
        return "/"
    return "/?" + urlencode({"batch": batch})
