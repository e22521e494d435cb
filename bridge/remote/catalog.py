"""The API's catalog (spaces and widgets per service), cached, and the user's words for a
space or a widget's item (a title, a name or an id) turned into what a submit takes.

The version reads the catalog and makes the selection (v1: the API's opaque ids, read from its
catalog endpoints; v3: slugs, from `tools.toml`, since v3 lists no widgets). No id is written in
this code or in presets, only titles. A cached catalog is refreshed after `ttl`, and at once when
the API says an id is unknown; while the API cannot be reached the last catalog read is used.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.clock import Clock
from ..core.text import printable
from .client import RemoteError

if TYPE_CHECKING:
    from .api import RemoteApi

CATALOG_TTL = 3600.0  # seconds a catalog is used before it is read again
CATALOG_TIMEOUT = 15.0  # seconds to wait for one catalog answer: a host may be waiting on it
# Error keys (or words) with which the API says a space, widget or item id is unknown.
_UNKNOWN_IDS = ("invalid_space_name", "invalid_widget", "invalid_widget_item", "widget_required")
UNKNOWN_ID_KEYS = (*_UNKNOWN_IDS, *(f"api_error_{k}" for k in _UNKNOWN_IDS))


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
                    | {"multi": bool(w.get("multi"))}
                    | {"items": [_public(i, ("id", "title", "is_premium")) for i in w.get("items") or []]}
                    for w in widgets
                ]
                for space, widgets in self.widgets.items()
            },
        }


@dataclass(frozen=True)
class Selection:
    """What a submit sends, with the titles people read. v1: `space_name` and `selected`
    ([{"id", "item_id"}]); v3: `selected` ([{"slug", "item_slugs"}], the space among them)."""

    space_name: str = ""
    space_title: str | None = None
    selected: list[dict] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # widget title -> item title(s)
    options: dict = field(default_factory=dict)  # v1 day to dusk: {"remove_shadow": bool}

    def as_dict(self) -> dict:
        return {
            "space_name": self.space_name,
            "space_title": self.space_title,
            "selected": self.selected,
            "labels": self.labels,
            "options": self.options,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Selection:
        return cls(
            data["space_name"],
            data.get("space_title"),
            data["selected"],
            data["labels"],
            data.get("options") or {},
        )


def _public(entry: dict, keys: tuple[str, ...]) -> dict:
    """The entry as shown (`aihd-bridge catalog`, the plugins' menus): the remote's words
    without control characters; ids as they are (JSON escapes them), or they would not match."""
    return {k: _shown(k, entry.get(k)) for k in keys}


def _shown(key: str, value: object) -> object:
    return printable(value) if key in ("title", "description") and isinstance(value, str) else value


def matches(entry: dict, text: str, *keys: str) -> bool:
    wanted = text.strip().casefold()
    for key in keys:
        value = str(entry.get(key) or "").casefold()
        if value and (value == wanted or (key == "name" and value.removeprefix("space-") == wanted)):
            return True
    return False


def choices(entries: list[dict]) -> str:
    return ", ".join(str(e.get("title") or e.get("name")) for e in entries)


class Catalog:
    """The catalog of each service, read on first need through the current API."""

    def __init__(self, api: Callable[[], RemoteApi], clock: Clock | None = None, ttl: float = CATALOG_TTL):
        self._api, self._clock, self.ttl = api, clock or Clock(), ttl
        self._cache: dict[tuple[str | None, str], ServiceCatalog] = {}
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
        api = self._api()
        with lock:  # one read per service at a time: others wait for its answer
            slot = (api.version, service)
            cached = self._cache.get(slot)
            fresh = cached and self._clock.monotonic() - cached.fetched < self.ttl
            if fresh and not refresh:
                return cached  # type: ignore[return-value]  # fresh implies cached
            try:
                catalog = dataclasses.replace(api.read_catalog(service), fetched=self._clock.monotonic())
            except RemoteError:
                if cached and not refresh:
                    return cached  # the API is away: the last catalog read still serves
                raise
            self._cache[(api.version, service)] = catalog
            return catalog

    def resolve(self, service: str, space: str | None, widgets: dict[str, str] | None) -> Selection:
        """The selection for these words, or NotOffered naming the valid choices (RemoteError
        when the catalog cannot be read)."""
        return self._api().select(self.service(service), space, widgets)
