"""Taking an uploaded photo, the same on both versions: its key, its faults, what is recorded.

An upload's fault waits its delay first, but answers only once the body was read, so what
was sent is recorded either way (tests check the bytes of refused uploads too).
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import IO, TYPE_CHECKING

from flask import request

from .envelope import error
from .faults import Fault, dropped_response
from .gate import fault_answer, key_refusal
from .state import key_fingerprint

if TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

    from .state import SandboxState


class Upload:
    """One upload request: its record (`entry`, kept in `state.received`) and its fault."""

    def __init__(self, state: SandboxState, api: str):
        self.state = state
        self.entry: dict = {"time": time.time(), "api": api}
        self.fault: Fault | None = state.fault("upload")
        if self.fault:
            self.entry["fault"] = {k: v for k, v in asdict(self.fault).items() if v}
            if self.fault.delay:
                time.sleep(self.fault.delay)

    def key_refused(self):
        """The 401 for a missing or refused key (recorded), else None."""
        key = request.headers.get("x-api-key", "")
        if key:
            self.entry["key"] = key_fingerprint(key)
        refused = key_refusal(self.state, key)
        if refused:
            self.entry["status"] = 401
            self.state.record(self.entry)
        return refused

    def refuse(self, status: int, message: str, key: str | None = None, entries: list[dict] | None = None):
        """Refuse the upload, recording each file's entry (or the request's) with the status."""
        for entry in entries or [self.entry]:
            entry["status"] = status
            self.state.record(entry)
        return error(status, message, key)

    def late_fault(self, entries: list[dict]):
        """The fault's answer once the body is read (recorded on each file's entry), else None."""
        fault = self.fault
        answer = fault_answer(fault) if fault else None
        if fault and answer is not None:
            for entry in entries:
                entry["status"] = "dropped" if fault.drop else fault.status
                self.state.record(entry)
        return answer

    def lost(self):
        """The work is done, but its answer never arrives (None: it does)."""
        return dropped_response() if self.fault and self.fault.lost else None


def receiving(state: SandboxState, api: str):
    """An upload route: out of reach, nothing gets through (not even recorded); else its
    `Upload` is made (the fault met, the delay waited) and its key checked, then the view
    gets it."""

    def wrap(view):
        @functools.wraps(view)
        def guarded():
            if state.unreachable():
                return dropped_response()
            upload = Upload(state, api)
            return upload.key_refused() or view(upload)

        return guarded

    return wrap


@contextmanager
def spooled() -> Iterator[IO[bytes]]:
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as kept:  # for the results
        yield kept


def read_file(storage: FileStorage, kept: IO[bytes]) -> dict:
    """Copy an uploaded file into `kept`; what the sandbox records of it."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: storage.stream.read(1 << 20), b""):
        digest.update(chunk)
        kept.write(chunk)
        size += len(chunk)
    return {
        "filename": storage.filename,
        "content_type": storage.mimetype,
        "size": size,
        "sha256": digest.hexdigest(),
    }
