"""The services the remote API offers, and the friendly names users may type for them."""

from __future__ import annotations

SERVICES: dict[str, str] = {
    "service-ai-virtual-staging": "Virtual staging",
    "service-item-removal": "Item removal",
    "service-day-to-dusk": "Day to dusk",
    "service-image-enhancement": "Image enhancement",
    "service-creative-designer": "Creative designer",
}

FALLBACK_SERVICE = "service-image-enhancement"


class UnknownService(ValueError):
    pass


def canonical_service(name: str) -> str:
    """Accept `service-day-to-dusk`, `day-to-dusk` or `Day to dusk`; return the API's name."""
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    for candidate in (key, f"service-{key}", f"service-ai-{key}"):
        if candidate in SERVICES:
            return candidate
    raise UnknownService(f"unknown service {name!r} (one of: {', '.join(SERVICES)})")
