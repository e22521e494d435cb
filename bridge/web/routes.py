"""The local HTTP API v1: routes under /v1 (described in README.md and /v1/openapi.json)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from .. import __version__
from ..core.identity import NONCE, proof
from ..photo.inspection import inspect_file
from ..photo.services import UnknownService, canonical_service, services
from ..queue.intake import InvalidRequest, Unavailable
from ..queue.item import ORDER_PENDING, ORDER_STATES, STATES, Item
from ..queue.store import MAX_SOURCE_IDS, NewItem
from ..remote.client import RemoteError
from ..runtime import Runtime
from ..watch.entries import WatchProblem, absolute_path, entry_from
from .errors import error_response
from .openapi import openapi_document
from .session import CODE_TTL

v1 = Blueprint("v1", __name__, url_prefix="/v1")
MAX_JSON_BYTES = 8_000_000


def _rt() -> Runtime:
    return current_app.extensions["runtime"]


def _json_body() -> Any:
    if request.content_length and request.content_length > MAX_JSON_BYTES:
        raise InvalidRequest(f"the JSON body is over {MAX_JSON_BYTES // 1_000_000} MB")
    try:
        return request.get_json(force=True, silent=False)
    except (ValueError, RecursionError):
        raise InvalidRequest("the body is not valid JSON") from None
    except Exception as exc:  # werkzeug's own BadRequest for undecodable bodies
        raise InvalidRequest(f"the body is not valid JSON ({type(exc).__name__})") from None


@v1.errorhandler(InvalidRequest)
def bad_request(exc: InvalidRequest) -> ResponseReturnValue:
    return error_response(400, str(exc))


@v1.errorhandler(Unavailable)
def unavailable(exc: Unavailable) -> ResponseReturnValue:
    return error_response(503, str(exc))


@v1.get("/health")
def health() -> ResponseReturnValue:
    rt = _rt()
    return jsonify(
        status="ok",
        version=__version__,
        mode=rt.mode,
        queue=rt.store.counts(),
        orders=rt.store.order_counts(),
        uploading_now=rt.pool.busy,
        rules_problem=rt.rules.problem,
        remote=rt.pool.health.snapshot(),
        api=rt.api_view(),
        submits=rt.orders.outlook().as_dict(),
    )


@v1.get("/identity")
def identity() -> ResponseReturnValue:
    """Open to all (clients ask before they send the token); answers only a fresh nonce."""
    nonce = request.args.get("nonce", "")
    if not NONCE.fullmatch(nonce):
        raise InvalidRequest("nonce: 16 to 128 letters, digits, '-' or '_'")
    pid = os.getpid()
    return jsonify(pid=pid, proof=proof(current_app.config["BRIDGE_TOKEN"], nonce, pid))


@v1.post("/uploads")
def create_uploads() -> ResponseReturnValue:
    rt = _rt()
    recorded: list[Item] = []

    def read_back(db: sqlite3.Connection, items: list[NewItem]) -> None:
        recorded.extend(rt.store.recorded(db, items))

    if request.mimetype == "multipart/form-data":
        files = request.files.getlist("image")
        if not files:
            raise InvalidRequest("multipart upload without an 'image' file")
        source_ids = request.form.getlist("source_id")
        items = []
        for n, storage in enumerate(files):
            fields: dict[str, str | None] = dict(request.form.items())
            fields["source_id"] = source_ids[n] if n < len(source_ids) else None
            items.append(rt.intake.from_upload(storage.stream, storage.filename, fields))
        batch_id = rt.intake.add_uploaded(items, also=read_back)
    else:
        batch_id, _ = rt.intake.from_json(_json_body(), also=read_back)
    rt.pool.wake()
    # Item.to_api, as everywhere: the hosts read each item's id, source_id, state, error and order_id.
    return jsonify(batch_id=batch_id, items=[i.to_api() for i in recorded]), 202


def _cursor(name: str) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidRequest(f"{name} must be a cursor the bridge gave (a whole number)")
    return int(text)


def batch_view(batch: dict, progress: dict) -> dict:
    """A batch as the API and the status page show it: totals over all its items, and the
    items the store gave (all of them, or those changed since a cursor)."""
    summary = batch["summary"]
    counts = summary["counts"]
    in_flight = sum(min(progress.get(i, 0), size) for i, size in summary["uploading"].items())
    return {
        "id": batch["id"],
        "created": batch["created"],
        "cursor": batch["cursor"],
        "finished": counts["queued"] + counts["uploading"] == 0,
        "counts": counts,
        "orders": summary["orders"],
        "orders_finished": counts["queued"] + counts["uploading"] == 0
        and not any(summary["orders"].get(s) for s in ORDER_PENDING),
        "total": summary["total"],
        "bytes_total": summary["bytes_total"],
        "bytes_sent": summary["bytes_done"] + in_flight,
        "items": [i.to_api(progress.get(i.id, 0)) for i in batch["items"]],
    }


@v1.get("/batches/<batch_id>")
def get_batch(batch_id: str) -> ResponseReturnValue:
    """Every item, or with ?since=<cursor> only those changed since; totals over all of
    them either way, so a poll that finds nothing new costs next to nothing."""
    rt = _rt()
    batch = rt.store.batch(batch_id, since=_cursor("since"))
    if batch is None:
        return error_response(404, f"no batch {batch_id}")
    return jsonify(batch_view(batch, rt.pool.progress) | {"remote": rt.pool.health.snapshot()})


@v1.get("/changes")
def changes() -> ResponseReturnValue:
    """What changed for one client (a Lightroom catalog) since its cursor: catch-up."""
    client = request.args.get("client")
    if not client:
        raise InvalidRequest("client is required: the name the client hands photos over with")
    try:
        limit = min(max(int(request.args.get("limit", 500)), 1), 1000)
    except ValueError:
        raise InvalidRequest("limit must be a number") from None
    items, cursor, more = _rt().store.changes(client, _cursor("since") or 0, limit)
    return jsonify(cursor=cursor, more=more, items=[i.listed() for i in items])


@v1.post("/batches/<batch_id>/cancel")
def cancel_batch(batch_id: str) -> ResponseReturnValue:
    return act(batch_id=batch_id, cancel=True)


@v1.post("/batches/<batch_id>/retry")
def retry_batch(batch_id: str) -> ResponseReturnValue:
    return act(batch_id=batch_id, cancel=False)


@v1.get("/uploads/<item_id>")
def get_upload(item_id: str) -> ResponseReturnValue:
    rt = _rt()
    item = rt.store.item(item_id)
    if item is None:
        return error_response(404, f"no upload {item_id}")
    return jsonify(item.to_api(rt.pool.progress.get(item.id, 0)) | {"history": item.history})


@v1.post("/uploads/<item_id>/cancel")
def cancel_upload(item_id: str) -> ResponseReturnValue:
    return act(item_id=item_id, cancel=True)


@v1.post("/uploads/<item_id>/retry")
def retry_upload(item_id: str) -> ResponseReturnValue:
    return act(item_id=item_id, cancel=False)


def act(*, cancel: bool, batch_id: str | None = None, item_id: str | None = None) -> ResponseReturnValue:
    rt = _rt()
    if (batch_id and rt.store.batch(batch_id) is None) or (item_id and rt.store.item(item_id) is None):
        return error_response(404, f"no such {'batch' if batch_id else 'upload'}")
    if cancel:
        changed, in_flight = rt.store.cancel(batch_id=batch_id, item_id=item_id)
        rt.pool.cancel_in_flight(in_flight)
        return jsonify(cancelled=changed, finishing=in_flight)
    changed = rt.store.retry(batch_id=batch_id, item_id=item_id)
    rt.pool.wake()
    return jsonify(queued=changed)


@v1.get("/history")
def history() -> ResponseReturnValue:
    args = request.args
    state = args.get("state")
    if state is not None and state not in STATES:
        return error_response(400, f"state must be one of {', '.join(STATES)}")
    order_state = args.get("order_state")
    if order_state is not None and order_state not in ORDER_STATES:
        return error_response(400, f"order_state must be one of {', '.join(ORDER_STATES)}")
    try:
        limit = min(max(int(args.get("limit", 100)), 1), 1000)
    except ValueError:
        return error_response(400, "limit must be a number")
    source_ids = args.getlist("source_id")
    if len(source_ids) > MAX_SOURCE_IDS:
        return error_response(400, f"at most {MAX_SOURCE_IDS} source_id values per call")
    items = _rt().store.history(
        state=state,
        source_path=args.get("source_path"),
        source_ids=source_ids or None,
        order_id=args.get("order_id"),
        client=args.get("client"),
        order_state=order_state,
        limit=limit,
    )
    return jsonify(items=[i.listed() for i in items])


@v1.get("/services")
def service_list() -> ResponseReturnValue:
    return jsonify(services=[{"name": n, "title": t} for n, t in services().items()])


@v1.get("/catalog")
def catalog() -> ResponseReturnValue:
    """The spaces and widgets (with their items) the API offers for a service, for hosts to
    build their menus; read from the API once and cached (`refresh=1` reads it again)."""
    try:
        service = canonical_service(request.args.get("service") or "")
    except UnknownService as exc:
        raise InvalidRequest(str(exc)) from None
    try:
        found = _rt().catalog.service(service, refresh=request.args.get("refresh") == "1")
    except RemoteError as exc:
        return error_response(503, f"the API's catalog could not be read ({exc}); try again")
    return jsonify(found.as_dict())


@v1.get("/presets")
def presets() -> ResponseReturnValue:
    rules = _rt().rules
    return jsonify(
        presets=[
            {
                "name": p.name,
                "title": p.title,
                "service": p.service,
                "submit": bool(p.order.submit),
                "space": p.order.space,
                "widgets": p.order.widgets,
                "results_dir": p.order.results_dir,
            }
            for p in rules.presets.values()
        ],
        rules=[{"name": r.name, "service": r.service} for r in rules.rules],
        problem=rules.problem,
    )


@v1.post("/inspect")
def inspect() -> ResponseReturnValue:
    payload = _json_body()
    if not isinstance(payload, dict) or not isinstance(payload.get("path"), str) or "\x00" in payload["path"]:
        raise InvalidRequest('expected {"path": "/absolute/path/to/photo"}')
    path = Path(payload["path"])
    if not path.is_absolute():
        raise InvalidRequest("the path must be absolute")
    rt = _rt()
    service = payload.get("service_name") if isinstance(payload.get("service_name"), str) else None
    preset = payload.get("preset") if isinstance(payload.get("preset"), str) else None
    return jsonify(inspect_file(path, rt.rules, rt.settings.max_upload_bytes, service=service, preset=preset))


@v1.post("/config/reload")
def reload_config() -> ResponseReturnValue:
    """Called by `aihd-bridge config set-key`: take up the new key without a restart."""
    return jsonify(mode=_rt().reload_key())


@v1.post("/session-code")
def session_code() -> ResponseReturnValue:
    """A one-time login link to the status page (`aihd-bridge open`, the Lightroom plugin)."""
    code = current_app.extensions["sessions"].new_code()
    port = current_app.config["BRIDGE_PORT"]
    return jsonify(url=f"http://127.0.0.1:{port}/?code={code}", expires_in=int(CODE_TTL))


@v1.get("/watches")
def list_watches() -> ResponseReturnValue:
    return jsonify(watches=_rt().watches.views())


@v1.post("/watches")
def add_watch() -> ResponseReturnValue:
    """Watch a folder from now on and at every start (`aihd-bridge watch DIR`; kept in config.toml)."""
    try:
        return jsonify(_rt().watches.add(entry_from(_json_body()))), 201
    except WatchProblem as exc:
        raise InvalidRequest(str(exc)) from None


@v1.post("/watches/remove")
def remove_watch() -> ResponseReturnValue:
    payload = _json_body()
    try:
        folder = absolute_path(payload.get("dir") if isinstance(payload, dict) else None)
        removed = _rt().watches.remove(folder)
    except WatchProblem as exc:
        raise InvalidRequest(str(exc)) from None
    return jsonify(removed) if removed else error_response(404, f"{folder} is not watched")


@v1.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())
