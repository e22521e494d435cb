"""The v3 API (shared/api-reference.md §2, §3), as documented and as the live API answers.

A project per property (`POST /v3/project {address}`, found first with `GET /v3/project?s=`);
`POST /v3/order` (multipart `project_id`, `asset_role`, `asset_file`: the singular names the live
API takes) gives the order id and the photo's asset id; `POST /v3/process` runs the tool with its
`asset_map` and widget slugs; `GET /v3/process/<id>` follows it (pending, processing, done,
failed; no more often than every 5 s), with results in `final_assets`. Answers may come wrapped
(`{"data": …, "message"}`, live) or bare (the docs): both are read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..photo.formats import UploadFile
from ..photo.tools import Tool, Widget, titled, tool_for
from .api import FAILED, FINISHED, NOT_SUBMITTED, PROCESSING, OrderRef, Progress, Result, Submitted, Uploaded
from .catalog import CATALOG_TIMEOUT, NotOffered, Selection, ServiceCatalog
from .client import ApiClient, RemoteError, checked_id

MIN_POLL_GAP = 5.0  # "Avoid polling more than once every 5 s" (quick start; the MCP enforces it)
PROJECT_PAGE = 30  # the most the project list gives at once
STATES = {"pending": PROCESSING, "processing": PROCESSING, "done": FINISHED, "failed": FAILED}


def unwrapped(answer: Any) -> Any:
    """The payload of an answer: the live API wraps it in {"data": …, "message"}, the docs do not."""
    if isinstance(answer, dict) and "data" in answer and isinstance(answer["data"], (dict, list)):
        return answer["data"]
    return answer


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class V3:
    version = "v3"
    min_poll_gap = MIN_POLL_GAP

    def __init__(self, client: ApiClient):
        self.client = client
        self._projects: dict[str, str] = {}  # a property's name (casefolded) -> its project id
        self._project_lock = threading.Lock()

    def _tool(self, service_name: str) -> Tool:
        tool = tool_for(service_name)
        if tool is None:
            raise RemoteError(status=None, retryable=False, message=f"no v3 tool for {service_name}")
        return tool

    # -- projects and uploads -------------------------------------------------------------

    def project_id(self, name: str) -> str:
        """The project of the property `name`: found by its address, else made; cached. One at a
        time, so that photos uploaded side by side make one project, not one each."""
        key = name.strip().casefold()
        with self._project_lock:
            if key in self._projects:
                return self._projects[key]
            found = unwrapped(
                self.client.call(
                    "GET", "/v3/project", params={"s": name, "limit": PROJECT_PAGE}, timeout=CATALOG_TIMEOUT
                )
            )
            rows = found if isinstance(found, list) else []
            project = next(
                (
                    p
                    for p in rows
                    if isinstance(p, dict) and str(p.get("address") or "").strip().casefold() == key
                ),
                None,
            )
            if project is None:
                project = unwrapped(
                    self.client.call("POST", "/v3/project", payload={"address": name.strip()})
                )
            project_id = _text(project.get("id") if isinstance(project, dict) else None)
            if project_id is None:
                raise RemoteError(
                    status=200,
                    retryable=False,
                    message=f"the project for {name!r} came without an id: "
                    + self.client.snippet(str(project)),
                )
            self._projects[key] = project_id
            return project_id

    def upload(
        self,
        file: UploadFile,
        service_name: str,
        project: str | None,
        on_progress: Callable[[int], None] | None,
    ) -> Uploaded:
        fields = [("project_id", self.project_id(project))] if project and project.strip() else []
        fields.append(("asset_role", "primary_angle"))
        answer = unwrapped(self.client.send_file("/v3/order", fields, "asset_file", file, on_progress))
        given = (answer.get("order_id") or answer.get("id")) if isinstance(answer, dict) else None
        order_id = checked_id(given, "order id", self.client)
        if order_id is None:
            raise RemoteError(
                status=200,
                retryable=False,
                message="the answer had no order id: " + self.client.snippet(str(answer)),
            )
        assets = answer.get("assets") if isinstance(answer, dict) else None
        first = assets[0] if isinstance(assets, list) and assets and isinstance(assets[0], dict) else {}
        asset_id = checked_id(first.get("id") or first.get("asset_id"), "asset id", self.client)
        if asset_id is None:  # the MCP server's advice for an order without its asset
            raise RemoteError(
                status=200,
                retryable=False,
                message=f"order {order_id} was made without the photo's asset: the plan may have no "
                "active credits (ask support@aihomedesign.com)",
            )
        return Uploaded(order_id, asset_id)

    # -- the catalog: tools.toml, as v3 lists no widgets ----------------------------------

    def read_catalog(self, service_name: str) -> ServiceCatalog:
        tool = self._tool(service_name)
        space = tool.space_widget
        spaces = [_space_entry(space, v) for v in space.items] if space else []
        options = [_widget_entry(w, n) for n, w in enumerate(tool.options, start=1)]
        return ServiceCatalog(
            tool.service_name, spaces, {s["name"]: options for s in spaces} or {"": options}
        )

    def select(self, catalog: ServiceCatalog, space: str | None, widgets: dict[str, str] | None) -> Selection:
        """Titles to slugs (`Style=Modern` -> item-modern-widget-style-<tool>). A value the file
        lacks is still sent, built by the slug pattern: the API knows more than it documents,
        and answers 422 for one it does not have."""
        tool = self._tool(catalog.service)
        chosen: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        space_title = None
        space_widget = tool.space_widget
        if space_widget is not None:
            if not space:
                raise NotOffered(
                    f"{tool.title} needs a {space_widget.title.lower()}; choose {_items(space_widget)}"
                )
            value = space_widget.value_of(space)
            chosen[space_widget.slug] = [space_widget.item_slug(value)]
            space_title = titled(value)
        for widget_text, item_text in (widgets or {}).items():
            widget = tool.widget_for(widget_text)
            values = [widget.value_of(v) for v in str(item_text).split(",") if v.strip()]
            if not values:
                raise NotOffered(f"{widget.title} has no value; choose {_items(widget)}")
            if len(values) > 1 and not widget.multi:
                raise NotOffered(
                    f"{widget.title} takes one value, not {len(values)}; choose {_items(widget)}"
                )
            chosen[widget.slug] = [widget.item_slug(v) for v in values]
            labels[widget.title] = ", ".join(titled(v) for v in values)
        for widget in tool.widgets:
            if widget.required and widget.slug not in chosen:
                raise NotOffered(f"{tool.title} needs a {widget.title}; choose {_items(widget)}")
        selected = [{"slug": slug, "item_slugs": items} for slug, items in chosen.items()]
        return Selection("", space_title, selected, labels)

    # -- the order ------------------------------------------------------------------------

    def submit(self, ref: OrderRef, selection: Selection) -> Submitted:
        tool = self._tool(ref.service_name)
        if not ref.asset_id:
            raise RemoteError(
                status=None, retryable=False, message=f"order {ref.order_id} has no asset id to process"
            )
        payload: dict = {
            "order_id": ref.order_id,
            "tool": tool.slug,
            "asset_map": {tool.input_slot: ref.asset_id},
        }
        if selection.selected:  # the live API's own client leaves the key out when empty
            payload["widgets"] = selection.selected
        answer = unwrapped(self.client.call("POST", "/v3/process", payload=payload))
        ids = answer.get("process_ids") if isinstance(answer, dict) else None
        given = ids[0] if isinstance(ids, list) and ids else None
        if given is None and isinstance(answer, dict):
            given = answer.get("process_id") or answer.get("id")
        process_id = checked_id(given, "process id", self.client)
        if process_id is None:
            raise RemoteError(
                status=200,
                retryable=False,
                message="the API took the process but gave no process id: "
                + self.client.snippet(str(answer)),
            )
        return Submitted(process_id=process_id)

    def find_submit(self, ref: OrderRef) -> Progress:
        """Whether a process for the order's tool exists (asked before any resend)."""
        tool = self._tool(ref.service_name)
        order = unwrapped(self.client.call("GET", f"/v3/order/{ref.order_id}"))
        processes = order.get("processes") if isinstance(order, dict) else None
        mine = [
            p
            for p in (processes if isinstance(processes, list) else [])
            if isinstance(p, dict) and p.get("tool") in (tool.slug, None)
        ]
        if not mine:
            return Progress(NOT_SUBMITTED)
        found = mine[-1]
        return _progress(found) if found.get("status") else Progress(PROCESSING)

    def progress(self, ref: OrderRef) -> Progress:
        if not ref.process_id:
            return self.find_submit(ref)
        return _progress(unwrapped(self.client.call("GET", f"/v3/process/{ref.process_id}")))


def _progress(process: object) -> Progress:
    if not isinstance(process, dict):
        return Progress(PROCESSING)
    process_id = _text(process.get("id") or process.get("process_id"))
    state = STATES.get(str(process.get("status") or "").lower(), PROCESSING)
    assets = [a for a in (process.get("final_assets") or []) if isinstance(a, dict)]
    results = tuple(
        Result(src, n)
        for n, a in enumerate(assets, start=1)
        if (src := _text(a.get("src")) or _text(a.get("temp_src")))
    )
    if state == FINISHED and not results:
        return Progress(
            FAILED, message="the API finished the process without any image", process_id=process_id
        )
    message = _text(process.get("error") or process.get("message")) if state == FAILED else None
    return Progress(state, results, expected=len(assets) or None, message=message, process_id=process_id)


def _items(widget: Widget) -> str:
    return ", ".join(titled(v) for v in widget.items) or "a value the API offers"


def _space_entry(widget: Widget, value: str) -> dict:
    return {
        "id": widget.item_slug(value),
        "name": widget.item_slug(value),
        "title": titled(value),
        "is_premium": False,
    }


def _widget_entry(widget: Widget, priority: int) -> dict:
    return {
        "id": widget.slug,
        "title": widget.title,
        "description": widget.title,
        "is_optional": not widget.required,
        "priority": priority,
        "type": widget.purpose,
        "multi": widget.multi,
        "items": [{"id": widget.item_slug(v), "title": titled(v), "is_premium": False} for v in widget.items],
    }
