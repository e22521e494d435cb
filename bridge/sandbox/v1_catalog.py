"""The v1 sandbox's catalog: spaces and widgets shaped like the API's, with ids of this sandbox alone."""

from __future__ import annotations

import re
import secrets
import threading
from typing import Any

# Spaces, and the services whose orders need one: the others take space_name "".
SPACES = ("Living room", "Bedroom", "Kitchen", "Dining room", "Home office", "Bathroom")
SPACE_SERVICES = ("service-ai-virtual-staging", "service-creative-designer")
_STYLES = ("Modern", "Scandinavian", "Industrial", "Coastal", "Farmhouse", "Mid-century")
# service -> widgets: (title, type, optional, items)
WIDGETS: dict[str, tuple[tuple[str, str, bool, tuple[str, ...]], ...]] = {
    "service-ai-virtual-staging": (
        ("Style", "style", False, _STYLES),
        ("Furniture", "density", True, ("Light", "Full")),
    ),
    "service-creative-designer": (
        ("Style", "style", False, _STYLES),
        ("Colour palette", "color", True, ("Warm", "Cool", "Neutral")),
    ),
    "service-day-to-dusk": (
        ("Sky", "sky", True, ("Blue hour", "Golden hour", "Pink sunset")),
        ("Window lights", "lights", True, ("On", "Off")),
    ),
    "service-item-removal": (("Removal", "removal", True, ("Everything movable", "Clutter only")),),
    "service-image-enhancement": (("Finish", "finish", True, ("Natural", "Vivid")),),
}


def _new_id() -> str:
    return secrets.token_hex(12)


def space_name(title: str) -> str:
    return "space-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


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
                        "id": _new_id(),
                        "title": title,
                        "description": f"{title} of the result",
                        "is_optional": optional,
                        "priority": n + 1,
                        "type": kind,
                        "items": [
                            {
                                "id": _new_id(),
                                "title": item,
                                "prompt": item.lower(),
                                "icon_src": "",
                                "is_premium": False,
                            }
                            for item in items
                        ],
                    }
                    for n, (title, kind, optional, items) in enumerate(widgets)
                ]
                for service, widgets in WIDGETS.items()
            }
            self._spaces = [
                {
                    "id": _new_id(),
                    "name": space_name(title),
                    "title": title,
                    "description": f"a {title.lower()}",
                    "prompt": title.lower(),
                    "icon_src": "",
                    "is_active": True,
                    "is_premium": False,
                }
                for title in SPACES
            ]

    def spaces(self, service: str) -> list[dict]:
        return [dict(s) for s in self._spaces] if service in SPACE_SERVICES else []

    def widgets(self, service: str) -> list[dict]:
        with self._lock:
            return [{**w, "items": [dict(i) for i in w["items"]]} for w in self._widgets.get(service, [])]

    def widget(self, widget_id: str) -> dict | None:
        with self._lock:
            return next((w for ws in self._widgets.values() for w in ws if w["id"] == widget_id), None)

    def check(self, service: str, space: str, selected) -> tuple[str, str] | None:
        """(error, key) for a submit this catalog does not allow; None when it does. Returns
        the labels chosen through `labels` below."""
        if service in SPACE_SERVICES:
            if space not in {s["name"] for s in self._spaces}:
                return f"space_name {space!r} is not a space of {service}", "invalid_space_name"
        elif space:
            return f"{service} takes no space_name", "invalid_space_name"
        if not isinstance(selected, list):
            return "selected_widgets must be a list", "invalid_widget"
        widgets = {w["id"]: w for w in self.widgets(service)}
        for choice in selected:
            widget = widgets.get(choice.get("id")) if isinstance(choice, dict) else None
            if widget is None:
                return f"unknown widget id {choice.get('id') if isinstance(choice, dict) else choice!r}", (
                    "invalid_widget"
                )
            if choice.get("item_id") not in {i["id"] for i in widget["items"]}:
                return f"unknown item id {choice.get('item_id')!r} for widget {widget['title']}", (
                    "invalid_widget_item"
                )
        chosen = {c["id"] for c in selected}
        for widget in widgets.values():
            if not widget["is_optional"] and widget["id"] not in chosen:
                return f"widget {widget['title']} is required", "widget_required"
        return None

    def labels(self, service: str, selected: list[dict]) -> dict[str, str]:
        widgets = {w["id"]: w for w in self.widgets(service)}
        out = {}
        for choice in selected:
            widget = widgets[choice["id"]]
            out[widget["title"]] = next(i["title"] for i in widget["items"] if i["id"] == choice["item_id"])
        return out
