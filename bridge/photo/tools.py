"""The v3 API's tools (`tools.toml`): their input slots, widgets and items, the slugs a process
takes, and which v1 service each replaces. v3 has no catalog endpoint, so this is its catalog.

The bridge names a tool by its v1 service name where it has one (`service-day-to-dusk`), else
by its slug (`tool-wall-change`): the names already in queues, presets and catalogs stay valid.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources


def slugify(text: str) -> str:
    """`Living room` -> `living-room`: how the API spells an item's value in its slugs."""
    return re.sub(r"[^a-z0-9]+", "-", text.strip().casefold()).strip("-")


def titled(value: str) -> str:
    """`living-room` -> `Living room`: the value as people read it."""
    words = value.replace("-", " ").strip()
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class Widget:
    purpose: str
    title: str
    slug: str  # widget-<purpose>-<tool slug>
    items: tuple[str, ...]  # values: the item slug is item-<value>-<widget slug>
    multi: bool = False
    required: bool = False

    def item_slug(self, value: str) -> str:
        return f"item-{slugify(value)}-{self.slug}"

    def value_of(self, text: str) -> str:
        """The value for a title, a value or a full item slug (`Living room`, `living-room`)."""
        slug = slugify(text)
        return slug.removeprefix("item-").removesuffix(f"-{self.slug}") if slug.startswith("item-") else slug


@dataclass(frozen=True)
class Tool:
    key: str
    slug: str
    title: str
    v1: str | None  # the v1 service it replaces; None: v3 only
    space: str | None  # purpose of the widget that is the room or area, if any
    widgets: tuple[Widget, ...]

    @property
    def service_name(self) -> str:
        """The bridge's name for it: the v1 service's where there is one."""
        return self.v1 or self.slug

    @property
    def input_slot(self) -> str:
        return f"{self.slug}-input-image"

    @property
    def space_widget(self) -> Widget | None:
        return next((w for w in self.widgets if w.purpose == self.space), None)

    @property
    def options(self) -> tuple[Widget, ...]:
        """The widgets other than the space."""
        return tuple(w for w in self.widgets if w.purpose != self.space)

    def widget(self, text: str) -> Widget | None:
        """The widget a person named by its title, purpose or slug (`Style`, `style`)."""
        wanted = slugify(text)
        return next((w for w in self.widgets if wanted in (slugify(w.title), w.purpose, w.slug)), None)

    def widget_for(self, text: str) -> Widget:
        """As `widget`, or one built by the slug pattern for a name the file lacks (the API
        may have more; it answers 422 for one it has not)."""
        purpose = slugify(text).removeprefix("widget-").removesuffix(f"-{self.slug}")
        return self.widget(text) or Widget(purpose, titled(purpose), f"widget-{purpose}-{self.slug}", ())


@functools.cache
def tools() -> dict[str, Tool]:
    """Every tool by the bridge's name for it (read once: the file ships with the package)."""
    data = tomllib.loads(resources.files("bridge.photo").joinpath("tools.toml").read_text("utf-8"))
    found = {}
    for key, entry in data["tool"].items():
        slug = entry.get("slug", f"tool-{key}")
        widgets = tuple(
            Widget(
                purpose=w["purpose"],
                title=w["title"],
                slug=f"widget-{w['purpose']}-{slug}",
                items=tuple(w.get("items", ())),
                multi=bool(w.get("multi", False)),
                required=bool(w.get("required", False)),
            )
            for w in entry.get("widget", [])
        )
        tool = Tool(key, slug, entry["title"], entry.get("v1"), entry.get("space"), widgets)
        found[tool.service_name] = tool
    return found


def tool_for(service_name: str) -> Tool | None:
    """The tool for the bridge's name of a service (or a tool slug)."""
    every = tools()
    return every.get(service_name) or next((t for t in every.values() if t.slug == service_name), None)
