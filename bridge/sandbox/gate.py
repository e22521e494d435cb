"""What every API route of the sandbox does first: meet its fault, then check the key."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Response, g, request

from .envelope import error
from .faults import Fault, dropped_response
from .state import key_fingerprint

if TYPE_CHECKING:
    from .state import SandboxState


def fault_answer(fault: Fault) -> Response | tuple | None:
    """The answer a fault makes instead of the real one: a dropped connection or an error
    status (`lost`, `cut`, `fail_processing` and `stall` are the route's own to apply)."""
    if fault.drop:
        return dropped_response()
    if fault.status:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        if fault.body is not None:
            return Response(fault.body, fault.status, headers, content_type="text/html")
        return error(fault.status, f"injected fault {fault.status}", "injected_fault", headers)
    return None


def fault_first(state: SandboxState, route: str) -> tuple[Fault | None, Response | tuple | None]:
    """The fault for this request, after its delay, and the answer it makes (if any)."""
    if state.unreachable():
        return None, dropped_response()
    fault = state.fault(route)
    if fault is None:
        return None, None
    if fault.delay:
        time.sleep(fault.delay)
    return fault, fault_answer(fault)


def key_refusal(state: SandboxState, key: str) -> tuple | None:
    """401 for a missing key, or one this sandbox was told to refuse."""
    if not key:
        return error(401, "missing api key", "unauthorized")
    if state.accepted_keys is not None and key not in state.accepted_keys:
        return error(401, "invalid api key", "unauthorized")
    return None


def keyed(state: SandboxState, route: str, arrival: Callable[..., None] | None = None):
    """A route that meets `route`'s faults and needs the key; the view gets the fault, and
    `g.key` is the caller's key fingerprint. `arrival` sees every request that reached the
    route, faulted ones too (a poll answered with a 503 is still a poll)."""

    def wrap(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if arrival is not None and not state.unreachable():
                arrival(**kwargs)
            fault, early = fault_first(state, route)
            if early is not None:
                return early
            key = request.headers.get("x-api-key", "")
            refused = key_refusal(state, key)
            if refused:
                return refused
            g.key = key_fingerprint(key)
            return view(fault, *args, **kwargs)

        return guarded

    return wrap
