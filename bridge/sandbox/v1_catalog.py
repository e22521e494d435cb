"""The v1 sandbox's catalog, as documented (reference §4.2, §4.4): spaces and widgets of each
service, with ids of this sandbox alone.

Space names are the documented ones, odd suffixes included (`space-kitchen--`); image
enhancement's Indoor and Outdoor are named `space-indoor` and `space-outdoor` [inferred: the
docs give only their titles]. A widget's `type` says `multi-select` for one that takes several
items (Enhancement Options) and `select` otherwise [inferred: the docs leave `type` open].
"""

from __future__ import annotations

import threading
from typing import Any

from .ids import new_id

STAGING, DESIGNER = "service-ai-virtual-staging", "service-creative-designer"
ENHANCEMENT, DUSK, REMOVAL = "service-image-enhancement", "service-day-to-dusk", "service-item-removal"

ROOMS = (
    ("space-bedroom", "Bedroom"),
    ("space-living-room", "Living Room"),
    ("space-dining-room", "Dining Room"),
    ("space-kitchen--", "Kitchen"),
    ("space-bathroom--", "Bathroom"),
    ("space-home-office", "Home Office"),
    ("space-living-dining-room-1", "Living & Dining Room"),
    ("space-studio-1", "Studio"),
    ("space-single-bedroom", "Single Bedroom"),
    ("space-outdoor--", "Outdoor"),
    ("space-foyer", "Foyer"),
    ("space-nursery-1", "Nursery"),
    ("space-kids-room-1", "Kids Room"),
    ("space-living-bed-room-1", "Living & Bed Room"),
)
AREAS = (("space-indoor", "Indoor"), ("space-outdoor", "Outdoor"))
# The services whose submit names a space, and their spaces; the others take no space_name.
SPACES = {STAGING: ROOMS, DESIGNER: ROOMS, ENHANCEMENT: AREAS}

_STYLES = (
    "Modern",
    "Scandinavian",
    "Farmhouse",
    "Industrial",
    "Traditional",
    "Contemporary",
    "Hampton",
    "Prime",
)
# service -> widgets: (title, optional, multi, items)
WIDGETS: dict[str, tuple[tuple[str, bool, bool, tuple[str, ...]], ...]] = {
    STAGING: (("Style", False, False, _STYLES),),
    DESIGNER: (
        ("Style", False, False, _STYLES),
        ("Color", True, False, ("Earthy Neutrals", "Warm Tones", "Cool Tones", "Monochrome", "Pastel")),
    ),
    ENHANCEMENT: (
        (
            "Enhancement Options",
            True,
            True,
            ("Add Fire to Fireplace", "Add Screen to TV", "Remove Extra Objects"),
        ),
    ),
    DUSK: (("Sky Style", False, False, ("Dusk with cloud", "Dusk without cloud", "Twilight with cloud")),),
    REMOVAL: (),
}


class SandboxCatalog:
    """Spaces and widgets with ids of this sandbox alone; `rotate` gives them new ids (the API
    may change them: a client must refresh what it cached when told an id is unknown)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.rotate()

    def rotate(self) -> None:
        with self._lock:
            self._widgets: dict[str, list[dict[str, Any]]] = {
                service: [
                    {
                        "id": new_id(),
                        "title": title,
                        "description": f"{title} of the result",
                        "is_optional": optional,
                        "priority": n + 1,
                        "type": "multi-select" if multi else "select",
                        "items": [
                            {
                                "id": new_id(),
                                "title": item,
                                "prompt": item.lower(),
                                "icon_src": "",
                                "is_premium": False,
                            }
                            for item in items
                        ],
                    }
                    for n, (title, optional, multi, items) in enumerate(widgets)
                ]
                for service, widgets in WIDGETS.items()
            }
            self._spaces = {
                name: {
                    "id": new_id(),
                    "name": name,
                    "title": title,
                    "description": f"a {title.lower()}",
                    "prompt": title.lower(),
                    "icon_src": "",
                    "is_active": True,
                    "is_premium": False,
                    "priority": n + 1,
                    "is_multi_space": False,
                }
                for n, (name, title) in enumerate(dict(ROOMS + AREAS).items())
            }

    def spaces(self, service: str | None) -> list[dict]:
        """The service's spaces; every space for no service."""
        names = (
            [n for n, _ in SPACES[service]] if service in SPACES else [] if service else list(self._spaces)
        )
        with self._lock:
            return [dict(self._spaces[n]) for n in names]

    def widgets(self, service: str) -> list[dict]:
        with self._lock:
            return [{**w, "items": [dict(i) for i in w["items"]]} for w in self._widgets.get(service, [])]

    def widget(self, widget_id: str) -> dict | None:
        with self._lock:
            return next((w for ws in self._widgets.values() for w in ws if w["id"] == widget_id), None)

    def check(self, service: str, space: str, selected) -> tuple[str, str] | None:
        """(error, key) for a choice of space and widgets this catalog does not allow, else None."""
        if service in SPACES:
            if space not in {s["name"] for s in self.spaces(service)}:
                return f"space_name {space!r} is not a space of {service}", "invalid_space_name"
        elif space:
            return f"{service} takes no space_name", "invalid_space_name"
        if not isinstance(selected, list):
            return "selected_widgets must be a list", "invalid_widget"
        widgets = {w["id"]: w for w in self.widgets(service)}
        chosen: dict[str, int] = {}
        for choice in selected:
            widget = widgets.get(choice.get("id")) if isinstance(choice, dict) else None
            if widget is None:
                shown = choice.get("id") if isinstance(choice, dict) else choice
                return f"unknown widget id {shown!r}", "invalid_widget"
            if choice.get("item_id") not in {i["id"] for i in widget["items"]}:
                return (
                    f"unknown item id {choice.get('item_id')!r} for widget {widget['title']}",
                    "invalid_widget_item",
                )
            chosen[widget["id"]] = chosen.get(widget["id"], 0) + 1
            if chosen[widget["id"]] > 1 and widget["type"] != "multi-select":
                return f"widget {widget['title']} takes one item", "invalid_widget_item"
        for widget in widgets.values():
            if not widget["is_optional"] and widget["id"] not in chosen:
                return f"widget {widget['title']} is required", "widget_required"
        return None

    def labels(self, service: str, selected: list[dict]) -> dict[str, str]:
        """Widget title -> the chosen items' titles (a multi-select's joined with ", ")."""
        widgets = {w["id"]: w for w in self.widgets(service)}
        out: dict[str, list[str]] = {}
        for choice in selected:
            widget = widgets[choice["id"]]
            item = next(i["title"] for i in widget["items"] if i["id"] == choice["item_id"])
            out.setdefault(widget["title"], []).append(item)
        return {title: ", ".join(items) for title, items in out.items()}
