"""The services (v3: tools) the remote API offers, and the friendly names users may type for them.

The five of v1 keep their v1 names (`service-day-to-dusk`); the tools only v3 has are named by
their slug (`tool-wall-change`). `tools.toml` lists them all.
"""

from __future__ import annotations

from .tools import tool_for, tools

FALLBACK_SERVICE = "service-image-enhancement"
FALLBACK_SPACE = "Indoor"  # its area when no rule says the photo is outdoors


def services() -> dict[str, str]:
    """Every service's name and title, v1's five first."""
    return {name: tool.title for name, tool in tools().items()}


def v3_only(service_name: str) -> bool:
    tool = tool_for(service_name)
    return tool is not None and tool.v1 is None


class UnknownService(ValueError):
    pass


def canonical_service(name: str) -> str:
    """Accept `service-day-to-dusk`, `day-to-dusk`, `Day to dusk` or `tool-day-to-dusk`; return
    the bridge's name for it."""
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    known = services()
    for candidate in (key, f"service-{key}", f"service-ai-{key}", f"tool-{key}"):
        if candidate in known:
            return candidate
        tool = tool_for(candidate)
        if tool is not None:
            return tool.service_name
    raise UnknownService(f"unknown service {name!r} (one of: {', '.join(known)})")
