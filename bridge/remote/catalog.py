"""The API's catalog (spaces and widgets per service), cached, and the user's words for a
space or a widget's item (a title, a name or an id) turned into the ids a submit takes.

Ids are the API's and opaque: none is written in this code or in presets, only titles, which
are looked up here. A cached catalog is refreshed after `ttl`, and at once when the API says an
id is unknown; while the API cannot be reached the last catalog read is used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..clock import Clock
from ..services import SERVICES
from ..text import printable
from .client import ApiClient, RemoteError

CATALOG_TTL = 3600.0  # seconds a catalog is used before it is read again
CATALOG_TIMEOUT = 15.0  # seconds to wait for one catalog answer: a host may be waiting on it
# Error keys (or words) with which the API says a space, widget or item id is unknown.
UNKNOWN_ID_KEYS = ("invalid_space_name", "invalid_widget", "invalid_widget_item", "widget_required")


class NotOffered(ValueError):
    """A space or widget value the catalog lacks, or a mandatory one missing; the message
    names the valid choices."""

    def __init__(self, message: str):
        super().__init__(printable(message))  # the choices are the remote's words


@dataclass(frozen=True)
class ServiceCatalog:
    service: str
    spaces: list[dict]  # as the API lists them; empty for services that take no space
    widgets: dict[str, list[dict]]  # space name ("" without spaces) -> widgets with their items
    fetched: float = 0.0  # monotonic

    @property
    def needs_space(self) -> bool:
        return bool(self.spaces)

    def as_dict(self) -> dict:
        return {
            "service": self.service,
            "space_required": self.needs_space,
            "spaces": [_public(s, ("name", "title", "description", "is_premium")) for s in self.spaces],
            "widgets": {
                space: [
                    _public(w, ("id", "title", "description", "is_optional", "priority", "type"))
                    | {"items": [_public(i, ("id", "title", "is_premium")) for i in w.get("items") or []]}
                    for w in widgets
                ]
                for space, widgets in self.widgets.items()
            },
        }


@dataclass(frozen=True)
class Selection:
    """What a submit sends (`space_name`, `selected_widgets`), with the titles people read."""

    space_name: str = ""
    space_title: str | None = None
    selected: list[dict] = field(default_factory=list)  # [{"id", "item_id"}]
    labels: dict[str, str] = field(default_factory=dict)  # widget title -> item title

    def as_dict(self) -> dict:
        return {
            "space_name": self.space_name,
            "space_title": self.space_title,
            "selected": self.selected,
            "labels": self.labels,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Selection:
        return cls(data["space_name"], data.get("space_title"), data["selected"], data["labels"])


def _public(entry: dict, keys: tuple[str, ...]) -> dict:
    """The entry as shown (`aihd-bridge catalog`, the plugins' menus): the remote's words
    without control characters; ids as they are (JSON escapes them), or they would not match."""
    return {k: _shown(k, entry.get(k)) for k in keys}


def _shown(key: str, value):
    return printable(value) if key in ("title", "description") and isinstance(value, str) else value


def _matches(entry: dict, text: str, *keys: str) -> bool:
    wanted = text.strip().casefold()
    for key in keys:
        value = str(entry.get(key) or "").casefold()
        if value and (value == wanted or (key == "name" and value.removeprefix("space-") == wanted)):
            return True
    return False


def _choices(entries: list[dict]) -> str:
    return ", ".join(str(e.get("title") or e.get("name")) for e in entries)


class Catalog:
    """The catalog of each service, read on first need through the current API client."""

    def __init__(self, client: Callable[[], ApiClient], clock: Clock | None = None, ttl: float = CATALOG_TTL):
        self._client, self._clock, self.ttl = client, clock or Clock(), ttl
        self._cache: dict[str, ServiceCatalog] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every catalog read (another API key may see another catalog)."""
        with self._lock:
            self._cache = {}

    def service(self, service: str, refresh: bool = False) -> ServiceCatalog:
        """The service's catalog (raises RemoteError when it cannot be read and none is cached)."""
        with self._lock:
            lock = self._locks.setdefault(service, threading.Lock())
        with lock:  # one read per service at a time: others wait for its answer
            cached = self._cache.get(service)
            fresh = cached and self._clock.monotonic() - cached.fetched < self.ttl
            if fresh and not refresh:
                return cached  # type: ignore[return-value]  # fresh implies cached
            try:
                catalog = self._read(service)
            except RemoteError:
                if cached and not refresh:
                    return cached  # the API is away: the last catalog read still serves
                raise
            self._cache[service] = catalog
            return catalog

    def _read(self, service: str) -> ServiceCatalog:
        client = self._client()

        def data(path: str, **params) -> list[dict]:
            answer = client.call("GET", path, params=params, timeout=CATALOG_TIMEOUT)
            rows = answer.get("data")
            if not isinstance(rows, list):
                raise RemoteError(status=200, retryable=True, message=f"{path} gave no list of data")
            return [r for r in rows if isinstance(r, dict)]

        spaces = [
            s
            for s in data("/v1/catalog/spaces", service_name=service, active="true")
            if s.get("is_active", True)
        ]
        widgets = {}
        for name in [s.get("name") or "" for s in spaces] or [""]:
            found = data("/v1/catalog/items/filter", space_name=name, service_name=service)
            for widget in found:
                if not isinstance(widget.get("items"), list):  # listed without its items
                    widget["items"] = data(f"/v1/catalog/widgets/{widget.get('id')}/items")
            widgets[name] = sorted(found, key=lambda w: w.get("priority") or 0)
        return ServiceCatalog(service, spaces, widgets, self._clock.monotonic())

    def resolve(self, service: str, space: str | None, widgets: dict[str, str] | None) -> Selection:
        """The selection for these words, or NotOffered naming the valid choices (RemoteError
        when the catalog cannot be read)."""
        return select(self.service(service), space, widgets)


def select(catalog: ServiceCatalog, space: str | None, widgets: dict[str, str] | None) -> Selection:
    title = SERVICES.get(catalog.service, catalog.service)
    space_entry = None
    if catalog.needs_space:
        if not space:
            raise NotOffered(f"{title} needs a space; choose {_choices(catalog.spaces)}")
        space_entry = next((s for s in catalog.spaces if _matches(s, space, "title", "name", "id")), None)
        if space_entry is None:
            raise NotOffered(f"Space {space!r} is not offered for {title}; choose {_choices(catalog.spaces)}")
    offered = catalog.widgets.get(space_entry["name"] if space_entry else "", [])
    selected, labels, seen = [], {}, set()
    for widget_text, item_text in (widgets or {}).items():
        widget = next((w for w in offered if _matches(w, widget_text, "title", "id", "type")), None)
        if widget is None:
            choose = _choices(offered) or "none: it takes no widget"
            raise NotOffered(f"{title} has no widget {widget_text!r}; choose {choose}")
        items = widget.get("items") or []
        item = next((i for i in items if _matches(i, str(item_text), "title", "id")), None)
        if item is None:
            raise NotOffered(f"{widget['title']} {item_text!r} is not offered; choose {_choices(items)}")
        selected.append({"id": widget["id"], "item_id": item["id"]})
        labels[printable(str(widget["title"]))] = printable(str(item["title"]))  # stored and shown
        seen.add(widget["id"])
    for widget in offered:
        if not widget.get("is_optional", True) and widget.get("id") not in seen:
            raise NotOffered(
                f"{title} needs a {widget['title']}; choose {_choices(widget.get('items') or [])}"
            )
    return Selection(
        space_entry["name"] if space_entry else "",
        printable(str(space_entry["title"])) if space_entry and space_entry.get("title") else None,
        selected,
        labels,
    )
