"""The v1 API as its documentation gives it (shared/api-reference.md §4).

Upload `POST /v1/order/image` (image + service_name) gives an order id; the catalog gives each
service's spaces and widgets with opaque ids; `POST /v1/order` submits with a body of the
service's own (day to dusk: `remove_shadow` and a sky, no space; item removal: the order id
alone); `GET /v1/order/<id>` shows `generated_images`. Its top-level `status` says nothing
about the submit (the documented sample shows `idle` beside a finished result), so "submitted"
is read from `generated_images` (any entry) and from the API's "already submitted" refusal.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.text import printable
from ..photo.formats import UploadFile
from ..photo.services import services
from ..photo.tools import slugify, tool_for
from .api import (
    FAILED,
    FINISHED,
    NOT_SUBMITTED,
    PROCESSING,
    NeedsOtherVersion,
    OrderRef,
    Progress,
    Result,
    Submitted,
    Uploaded,
)
from .catalog import CATALOG_TIMEOUT, NotOffered, Selection, ServiceCatalog, choices, matches
from .client import ApiClient, RemoteError, checked_id

READY = "regular_finished"
IMAGE_FAILED = {"failed", "error", "cancelled", "canceled", "rejected"}
FIRST_LOOK_CAP = 120.0  # seconds: a wild eta never delays the first look past this
DEFAULT_ETA = 60.0
# Day to dusk's shadow option: the v1 body's `remove_shadow`, named as a widget by people
# ("Remove shadow=yes") or as v3's option item ("Options=Shadow removal").
SHADOW_NAMES = {"remove-shadow", "shadow-removal", "remove-shadows", "shadows"}
YES = {"yes", "true", "on", "1", "remove"}


class V1:
    version = "v1"
    min_poll_gap = 0.0

    def __init__(self, client: ApiClient):
        self.client = client

    def upload(
        self,
        file: UploadFile,
        service_name: str,
        project: str | None,
        on_progress: Callable[[int], None] | None,
    ) -> Uploaded:
        tool = tool_for(service_name)
        if tool is not None and tool.v1 is None:
            raise NeedsOtherVersion(
                f"{tool.title} needs the v3 API, and this API key speaks v1: ask AI HomeDesign "
                f"for a v3 key, or choose another service"
            )
        # v1 has no projects: the property's name stays on the item, nothing is sent.
        answer = self.client.send_file(
            "/v1/order/image", [("service_name", service_name)], "image", file, on_progress
        )
        order_id = checked_id(
            answer.get("order_id") if isinstance(answer, dict) else None, "order id", self.client
        )
        if order_id is None:
            raise RemoteError(
                status=200,
                retryable=False,
                message="the answer had no order id: " + self.client.snippet(str(answer)),
            )
        return Uploaded(order_id)

    # -- the catalog ----------------------------------------------------------------------

    def _data(self, path: str, **params: str | int) -> list[dict]:
        answer = self.client.call("GET", path, params=params, timeout=CATALOG_TIMEOUT)
        rows = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(rows, list):
            raise RemoteError(status=200, retryable=True, message=f"{path} gave no list of data")
        return [r for r in rows if isinstance(r, dict)]

    def read_catalog(self, service_name: str) -> ServiceCatalog:
        spaces = [
            s
            for s in self._data("/v1/catalog/spaces", service_name=service_name, active="true")
            if s.get("is_active", True)
        ]
        widgets = {}
        for name in [s.get("name") or "" for s in spaces] or [""]:
            found = self._data("/v1/catalog/items/filter", space_name=name, service_name=service_name)
            for widget in found:
                if not isinstance(widget.get("items"), list):  # listed without its items
                    widget["items"] = self._data(f"/v1/catalog/widgets/{widget.get('id')}/items")
            widgets[name] = sorted(found, key=lambda w: w.get("priority") or 0)
        return ServiceCatalog(service_name, spaces, widgets)

    def select(self, catalog: ServiceCatalog, space: str | None, widgets: dict[str, str] | None) -> Selection:
        title = services().get(catalog.service, catalog.service)
        widgets = dict(widgets or {})
        options: dict = {}
        if catalog.service == "service-day-to-dusk":
            options["remove_shadow"] = _remove_shadow(widgets)
        space_entry = None
        if catalog.needs_space:
            if not space:
                raise NotOffered(f"{title} needs a space; choose {choices(catalog.spaces)}")
            space_entry = next((s for s in catalog.spaces if matches(s, space, "title", "name", "id")), None)
            if space_entry is None:
                raise NotOffered(
                    f"Space {space!r} is not offered for {title}; choose {choices(catalog.spaces)}"
                )
        offered = catalog.widgets.get(space_entry["name"] if space_entry else "", [])
        selected, labels, seen = [], {}, set()
        for widget_text, item_text in widgets.items():
            widget = next((w for w in offered if matches(w, widget_text, "title", "id", "type")), None)
            if widget is None:
                choose = choices(offered) or "none: it takes no widget"
                raise NotOffered(f"{title} has no widget {widget_text!r}; choose {choose}")
            items = widget.get("items") or []
            # Several items of one widget (image enhancement's options) are several entries.
            titles = []
            wanted = _split(item_text)
            if len(wanted) > 1 and not _multi(widget):
                raise NotOffered(
                    f"{widget['title']} takes one item, not {len(wanted)}; choose {choices(items)}"
                )
            for text in wanted:
                item = next((i for i in items if matches(i, text, "title", "id")), None)
                if item is None:
                    raise NotOffered(f"{widget['title']} {text!r} is not offered; choose {choices(items)}")
                selected.append({"id": widget["id"], "item_id": item["id"]})
                titles.append(printable(str(item.get("title"))))  # the remote's words, stored and shown
            labels[printable(str(widget["title"]))] = ", ".join(titles)
            seen.add(widget["id"])
        for widget in offered:
            if not widget.get("is_optional", True) and widget.get("id") not in seen:
                raise NotOffered(
                    f"{title} needs a {widget['title']}; choose {choices(widget.get('items') or [])}"
                )
        if options.get("remove_shadow"):
            labels["Remove shadow"] = "yes"
        return Selection(
            space_entry["name"] if space_entry else "",
            printable(str(space_entry["title"])) if space_entry and space_entry.get("title") else None,
            selected,
            labels,
            options,
        )

    # -- the order ------------------------------------------------------------------------

    def submit(self, ref: OrderRef, selection: Selection) -> Submitted:
        answer = self.client.call("POST", "/v1/order", payload=body_for(ref, selection))
        eta = answer.get("eta") if isinstance(answer, dict) else None
        seconds = float(eta) if isinstance(eta, (int, float)) and eta >= 0 else DEFAULT_ETA
        return Submitted(eta=min(seconds, FIRST_LOOK_CAP))

    def find_submit(self, ref: OrderRef) -> Progress:
        return self.progress(ref)

    def progress(self, ref: OrderRef) -> Progress:
        answer = self.client.call("GET", f"/v1/order/{ref.order_id}")
        images = [i for i in (answer.get("generated_images") or []) if isinstance(i, dict)]
        if not images:
            return Progress(NOT_SUBMITTED)
        failed = [i for i in images if str(i.get("status") or "").lower() in IMAGE_FAILED]
        ready = [i for i in images if i.get("status") == READY and isinstance(i.get("src"), str) and i["src"]]
        results = tuple(
            Result(i["src"], i["sequence"] if isinstance(i.get("sequence"), int) and i["sequence"] > 0 else n)
            for n, i in enumerate(sorted(ready, key=lambda i: i.get("sequence") or 0), start=1)
        )
        if failed and len(failed) + len(ready) == len(images) and not ready:
            why = failed[0].get("comment") or failed[0].get("status")
            return Progress(FAILED, message=str(why))
        state = FINISHED if len(ready) + len(failed) == len(images) else PROCESSING
        return Progress(state, results, expected=len(images))


def body_for(ref: OrderRef, selection: Selection) -> dict:
    """The submit's body, which each service has its own shape of (reference §4.5)."""
    if ref.service_name == "service-item-removal":
        return {"order_id": ref.order_id}
    if ref.service_name == "service-day-to-dusk":
        return {
            "order_id": ref.order_id,
            "remove_shadow": bool(selection.options.get("remove_shadow")),
            "selected_widgets": selection.selected,
        }
    return {
        "order_id": ref.order_id,
        "space_name": selection.space_name,
        "selected_widgets": selection.selected,
    }


def _multi(widget: dict) -> bool:
    """Whether a widget takes several items (the API's type says so; its docs name no values)."""
    return bool(widget.get("multi")) or "multi" in str(widget.get("type") or "").lower()


def _split(text: str) -> list[str]:
    return [part.strip() for part in str(text).split(",") if part.strip()]


def _remove_shadow(widgets: dict[str, str]) -> bool:
    """Take day to dusk's shadow option out of the widgets (it is no widget on v1)."""
    wanted = False
    for name in list(widgets):
        value = str(widgets[name])
        if slugify(name) in SHADOW_NAMES:
            wanted = slugify(value) in YES or slugify(value) in SHADOW_NAMES
            del widgets[name]
        elif slugify(name) == "options":
            rest = [v for v in _split(value) if slugify(v) not in SHADOW_NAMES]
            wanted = wanted or len(rest) < len(_split(value))
            if rest:
                widgets[name] = ", ".join(rest)
            else:
                del widgets[name]
    return wanted
