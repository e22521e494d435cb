"""The v3 sandbox's routes (reference §2): projects, orders (the upload), processes.

As the live API (§2.13): successes in `{"data": ..., "message": "ok"}`, 201 for what a POST
creates, errors bare; the upload takes `asset_file`/`asset_role` (and the plural forms),
pairing the n-th role with the n-th file; a process create answers `process_ids: [id]`.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

from flask import Flask, g, request

from ..photo.tools import tool_for
from .envelope import RATE_LIMITED, error, ok, tool_not_found
from .faults import dropped_response
from .gate import keyed
from .uploads import Upload, read_file, receiving, spooled
from .v3_book import Links, asset_dict
from .v3_checks import check_process, choices

if TYPE_CHECKING:
    from .state import SandboxState

FILE_FIELDS = ("asset_file", "asset_files", "asset_files[]")
ROLE_FIELDS = ("asset_role", "asset_roles", "asset_roles[]")
ROLES = ("primary_angle", "secondary_angle", "mask")
MAX_PAGE = 30


def role_refusal(roles: list[str]) -> str | None:
    """Why an order's roles are refused (400), else None."""
    wrong = next((r for r in roles if r not in ROLES), None)
    if wrong is not None:
        return f"wrong asset role {wrong!r} (one of {', '.join(ROLES)})"
    if roles.count("primary_angle") != 1:
        return "an order takes exactly one primary_angle"
    if roles.count("secondary_angle") > 1:
        return "an order takes at most one secondary_angle"
    return None


def _int_arg(name: str, default: int) -> int | None:
    text = request.args.get(name)
    if text is None:
        return default
    return int(text) if text.isdigit() and int(text) >= 1 else None


def add_v3_routes(app: Flask, state: SandboxState) -> None:
    _project_routes(app, state)
    _order_routes(app, state)
    _process_routes(app, state)


def _links(state: SandboxState) -> Links:
    return Links(state.result_base or request.host_url, state.temp_links_only)


def _project_routes(app: Flask, state: SandboxState) -> None:
    book = state.book

    @app.post("/v3/project")
    @keyed(state, "project")
    def create_project(fault):
        body = request.get_json(silent=True)
        address = body.get("address") if isinstance(body, dict) else None
        if not isinstance(address, str) or not address.strip():
            return error(400, "address is required", "missing_field")
        project = book.v3.create_project(address)
        if fault and fault.lost:  # made, but its id never reaches the client
            return dropped_response()
        return ok(project, 201)

    @app.get("/v3/project/<project_id>")
    @keyed(state, "project")
    def get_project(_fault, project_id: str):
        found = book.v3.project(project_id)
        return ok(found) if found else error(404, "project not found", "project_not_found")

    @app.get("/v3/project")
    @keyed(state, "project")
    def list_projects(_fault):
        page, limit = _int_arg("page", 1), _int_arg("limit", 10)
        sort = request.args.get("sort", "desc")
        if page is None or limit is None:
            return error(400, "page and limit are whole numbers from 1", "invalid_field")
        if sort not in ("asc", "desc", "modified"):
            return error(400, f"sort {sort!r} is not one of asc, desc, modified", "invalid_field")
        limit = min(limit, MAX_PAGE)
        found, total = book.v3.list_projects(page, limit, sort, request.args.get("s", ""))
        return ok(found, pagination={"page": page, "limit": limit, "total": total})


def _order_routes(app: Flask, state: SandboxState) -> None:
    book = state.book

    @app.post("/v3/order")
    @receiving(state, "v3")
    def create_order(upload: Upload):
        files = [s for name, s in request.files.items(multi=True) if name in FILE_FIELDS]
        roles = [r for name, r in request.form.items(multi=True) if name in ROLE_FIELDS]
        upload.entry["project_id"] = request.form.get("project_id") or None
        if not files:
            return upload.refuse(400, "http: no such file", "no_such_file")
        with ExitStack() as stack:
            kept, entries = [], []
            for n, storage in enumerate(files):
                data = stack.enter_context(spooled())
                role = roles[n] if n < len(roles) else "primary_angle"  # the documented default
                entries.append(upload.entry | read_file(storage, data) | {"role": role})
                kept.append((role, data))
            why = role_refusal([role for role, _ in kept])
            if why:
                return upload.refuse(400, why, "wrong_asset_role", entries)
            if any(e["size"] > state.max_bytes for e in entries):
                return upload.refuse(413, "file too large", "file_too_large", entries)
            late = upload.late_fault(entries)
            if late is not None:
                return late
            order = book.v3.add_order(upload.entry["project_id"], kept)
        if order is None:
            return upload.refuse(404, "project not found", "project_not_found", entries)
        for entry, asset in zip(entries, order.assets, strict=True):
            entry.update(status=201, order_id=order.id, asset_id=asset.id, project_id=order.project_id)
            state.record(entry)
        if state.on_order:
            state.on_order(entries[0])
        lost = upload.lost()
        if lost is not None:
            return lost
        return ok({"order_id": order.id, "assets": [asset_dict(a, _links(state)) for a in order.assets]}, 201)

    @app.get("/v3/order/<order_id>")
    @keyed(state, "order")
    def get_order(_fault, order_id: str):
        found = book.v3.order(order_id, _links(state))
        return ok(found) if found else error(404, "order not found", "order_not_found")


def _process_routes(app: Flask, state: SandboxState) -> None:
    book = state.book

    @app.post("/v3/process")
    @keyed(state, "submit")
    def create_process(fault):
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return error(400, "a JSON body is required", "invalid_body")
        order_id, slug = payload.get("order_id"), payload.get("tool")
        if isinstance(order_id, str) and order_id:
            book.count_request(order_id)
        else:
            return error(400, "order_id is required", "missing_field")
        if not isinstance(slug, str) or not slug:
            return error(400, "tool is required", "missing_field")
        tool = tool_for(slug)
        if tool is None or tool.slug != slug:  # unknown or retired: the live API's raw 500
            return tool_not_found()
        assets = book.v3.asset_ids(order_id)
        if assets is None:
            return error(404, "order not found", "order_not_found")
        widgets = payload.get("widgets")
        refused = check_process(tool, assets, payload.get("asset_map"), widgets)
        if refused:
            return error(*refused)
        if not state.admit_submit(g.key):
            book.count_rate_limited(order_id)
            return error(429, RATE_LIMITED)  # no key and no Retry-After, as documented
        widgets = widgets or []
        fails = bool(fault and fault.fail_processing)
        process_id = book.v3.start(
            order_id, tool, payload["asset_map"], widgets, choices(tool, widgets), fails
        )
        if book.on_submit:
            book.on_submit(order_id)
        if fault and fault.lost:  # taken and charged; the answer never arrives
            return dropped_response()
        return ok({"process_ids": [process_id]}, 201)

    @app.get("/v3/process/<process_id>")
    @keyed(state, "process", arrival=lambda process_id: book.poll(process_id))
    def get_process(_fault, process_id: str):
        found = book.v3.process(process_id, _links(state))
        return ok(found) if found else error(404, "process not found", "process_not_found")
