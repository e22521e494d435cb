"""Each v1 service's submit body, as documented (reference §4.5): which fields it takes.

Virtual staging, creative designer and image enhancement send `space_name` and
`selected_widgets`; day to dusk sends `remove_shadow` (a boolean, required here) and
`selected_widgets`, no space; item removal sends `{order_id}` alone. A field of another
service's body is refused with a 400 [inferred: the docs list each body, not what the API
does with more].
"""

from __future__ import annotations

from .v1_catalog import DESIGNER, DUSK, ENHANCEMENT, REMOVAL, STAGING, SandboxCatalog

FIELDS = {
    STAGING: {"order_id", "space_name", "selected_widgets"},
    DESIGNER: {"order_id", "space_name", "selected_widgets"},
    ENHANCEMENT: {"order_id", "space_name", "selected_widgets"},
    DUSK: {"order_id", "remove_shadow", "selected_widgets"},
    REMOVAL: {"order_id"},
}


def check_body(service: str, payload: dict, catalog: SandboxCatalog) -> tuple[str, str] | None:
    """(error, key) for a body the service does not take, else None."""
    extra = sorted(set(payload) - FIELDS.get(service, {"order_id"}))
    if extra:
        return f"{service} takes no {', '.join(extra)}", "invalid_field"
    if service == DUSK and not isinstance(payload.get("remove_shadow"), bool):
        return "remove_shadow (true or false) is required", "invalid_remove_shadow"
    if service == REMOVAL:
        return None
    return catalog.check(service, payload.get("space_name") or "", payload.get("selected_widgets", []))
