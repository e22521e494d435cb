"""The faults the sandbox can inject, on any of its routes, and the broken answers they make."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import Response


@dataclass(frozen=True)
class Fault:
    status: int | None = None  # answer with this status instead of an order
    retry_after: str | None = None
    delay: float = 0.0  # seconds to wait before answering (or before the fault)
    drop: bool = False  # break the connection instead of answering
    body: str | None = None  # raw body to send with `status`
    lost: bool = False  # do the work (make or submit the order), then break the connection
    cut: bool = False  # a download: send half the file, then break the connection
    fail_processing: bool = False  # a submit: taken (and charged), but the order ends failed
    stall: float = 0.0  # a download: send half the file, wait this long, then the rest

    @classmethod
    def from_dict(cls, data: dict) -> Fault:
        return cls(**{k: data[k] for k in _FAULT_KEYS if k in data})


_FAULT_KEYS = ("status", "retry_after", "delay", "drop", "body", "lost", "cut", "fail_processing", "stall")
# The routes faults can be set for: uploads keep `SandboxState.faults`, the rest `route_faults`.
# upload: POST /v1/order/image, POST /v3/order; submit: POST /v1/order, POST /v3/process;
# order: GET /v1/order/<id>, GET /v3/order/<id>; process: GET /v3/process/<id> (the polls);
# project: /v3/project; catalog: /v1/catalog/...; download: the result pictures.
ROUTES = ("upload", "catalog", "submit", "order", "download", "project", "process")


@dataclass
class FaultPlan:
    """Faults to inject: first the scripted ones in order, then `rate` of requests at random."""

    script: list[Fault] = field(default_factory=list)
    rate: float = 0.0
    kinds: list[Fault] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self):
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def next(self) -> Fault | None:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            if self.kinds and self._random.random() < self.rate:
                return self._random.choice(self.kinds)
        return None

    @classmethod
    def from_dict(cls, data: dict) -> FaultPlan:
        return cls(
            script=[Fault.from_dict(f) for f in data.get("script", [])],
            rate=float(data.get("rate", 0.0)),
            kinds=[Fault.from_dict(f) for f in data.get("kinds", [])],
            seed=data.get("seed"),
        )


class Dropped(Exception):
    """Raised mid-answer so that the server closes the connection (a simulated drop)."""


class QuietDrops(logging.Filter):
    """Keep waitress from logging a traceback for each connection dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Dropped))


def dropped_response() -> Response:
    def body():
        yield b'{"order_id": "'  # the server sends the headers and a first piece ...
        raise Dropped("sandbox: dropping the connection on purpose")  # ... then cuts it

    return Response(body(), 200, {"Content-Length": "64"}, content_type="application/json")


def cut_response(data: bytes, status: int, headers: dict, mimetype: str) -> Response:
    """Announce all of `data`, send its first half, then cut the connection."""

    def body() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        raise Dropped("sandbox: cutting the download half-way on purpose")

    return Response(body(), status, {**headers, "Content-Length": str(len(data))}, mimetype=mimetype)


def stalled_response(data: bytes, status: int, headers: dict, mimetype: str, stall: float) -> Response:
    """Send the first half of `data`, wait `stall` seconds, then the rest."""

    def body() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        time.sleep(stall)
        yield data[len(data) // 2 :]

    return Response(body(), status, {**headers, "Content-Length": str(len(data))}, mimetype=mimetype)
