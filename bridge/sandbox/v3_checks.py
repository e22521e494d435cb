"""Whether a v3 process request fits its tool (reference §2.8, §3; the tools as in
bridge/photo/tools.toml): its input slots, widgets and items. Each refusal is (status, message, key).

The slot and slug mismatches are 422s as documented; a missing or ill-typed field is a 400;
an asset the order does not hold is a 404. A required widget left out is a 422 naming it, and
a single-select widget given several items a 422 [inferred: the docs say only "invalid"].
"""

from __future__ import annotations

from ..photo.tools import Tool, titled

Refusal = tuple[int, str, str]


def check_process(tool: Tool, assets: set[str], asset_map, widgets) -> Refusal | None:
    if not isinstance(asset_map, dict) or not asset_map:
        return 400, "asset_map is required", "missing_field"
    slots = {tool.input_slot}
    if set(asset_map) != slots:
        wanted, got = ", ".join(sorted(slots)), ", ".join(map(str, asset_map))
        return 422, f"asset_map keys must be {wanted}, not {got}", "invalid_asset_map"
    unknown = next((a for a in asset_map.values() if a not in assets), None)
    if unknown is not None:
        return 404, f"asset {unknown} not found in the order", "asset_not_found"
    return check_widgets(tool, [] if widgets is None else widgets)


def check_widgets(tool: Tool, widgets) -> Refusal | None:
    if not isinstance(widgets, list):
        return 400, "widgets must be a list", "invalid_widgets"
    given: dict[str, list[str]] = {}
    for entry in widgets:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("slug"), str)
            and isinstance(entry.get("item_slugs"), list)
        ):
            return 400, "each widget is {slug, item_slugs: [...]}", "invalid_widgets"
        slug, items = entry["slug"], entry["item_slugs"]
        widget = next((w for w in tool.widgets if w.slug == slug), None)
        if widget is None:
            known = ", ".join(w.slug for w in tool.widgets) or "none"
            return (
                422,
                f"widget {slug} is not a widget of {tool.slug} (its widgets: {known})",
                "invalid_widget",
            )
        if slug in given:
            return 422, f"widget {slug} is given twice", "invalid_widget"
        valid = [widget.item_slug(v) for v in widget.items]
        wrong = next((i for i in items if i not in valid), None)
        if wrong is not None:
            return (
                422,
                f"item {wrong} does not belong to widget {slug}; valid items: {', '.join(valid)}",
                "invalid_item",
            )
        if len(items) > 1 and not widget.multi:
            return 422, f"widget {slug} takes one item, not {len(items)}", "invalid_item"
        given[slug] = items
    for widget in tool.widgets:
        if widget.required and not given.get(widget.slug):
            items = ", ".join(widget.item_slug(v) for v in widget.items)
            return 422, f"widget {widget.slug} is required; valid items: {items}", "widget_required"
    return None


def choices(tool: Tool, widgets: list[dict]) -> dict[str, str]:
    """Widget title -> the chosen items as people read them (for the result picture)."""
    out = {}
    for entry in widgets:
        widget = next(w for w in tool.widgets if w.slug == entry["slug"])
        out[widget.title] = ", ".join(titled(widget.value_of(i)) for i in entry["item_slugs"])
    return out
