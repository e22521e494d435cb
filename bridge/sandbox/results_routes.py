"""The result pictures, as a CDN would serve them: no key needed, the address is the secret.

Both versions link here: v1's `src`, v3's `src` and `temp_src` (under results/temp/). Each
request is recorded in `state.downloads`, with whether a key came with it (none should).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from .envelope import error
from .faults import cut_response, stalled_response
from .gate import fault_first
from .state import key_fingerprint

if TYPE_CHECKING:
    from .state import SandboxState


def add_result_routes(app: Flask, state: SandboxState) -> None:
    @app.get("/results/<picture_id>.jpg")
    @app.get("/results/temp/<picture_id>.jpg")
    def result(picture_id: str):
        key = request.headers.get("x-api-key")
        seen = {"time": time.time(), "picture_id": picture_id, "host": request.host}
        seen["key"] = key_fingerprint(key) if key else None
        fault, early = fault_first(state, "download")
        data = None if early is not None else state.book.result(picture_id)
        seen["status"] = "fault" if early is not None else 404 if data is None else 200
        state.record_download(seen)
        if early is not None:
            return early
        if data is None:
            return error(404, "no such image", "not_found")
        status, headers, body = 200, {"Accept-Ranges": "bytes"}, data
        wanted = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if wanted and int(wanted.group(1)) < len(data):
            start = int(wanted.group(1))
            status, body = 206, data[start:]
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if fault and fault.cut:
            return cut_response(body, status, headers, "image/jpeg")
        if fault and fault.stall:
            return stalled_response(body, status, headers, "image/jpeg", fault.stall)
        return Response(body, status, headers, mimetype="image/jpeg")
