"""The queue's core record: one photo handed over, its upload and its order, as the store
reads it; and the one place its view in the local API is built (`Item.to_api`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class State(StrEnum):
    """An item's upload: queued -> uploading -> done, failed or cancelled."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OrderState(StrEnum):
    """An uploaded item's order: not_submitted (upload only) -> submitting -> processing ->
    finished or failed. "submitting" is recorded before a submit is sent."""

    NOT_SUBMITTED = "not_submitted"
    SUBMITTING = "submitting"
    PROCESSING = "processing"
    FINISHED = "finished"
    FAILED = "failed"


STATES = tuple(State)
ORDER_STATES = tuple(OrderState)
ORDER_PENDING = (OrderState.SUBMITTING, OrderState.PROCESSING)


@dataclass(frozen=True)
class Item(Mapping[str, Any]):
    """One row of `items`, typed and read-only. It is also a read-only mapping of its fields
    (`item["state"]`), which the tests and the sidecars read it as."""

    id: str
    batch_id: str
    position: int
    source_path: str | None
    source_id: str | None
    spool_path: str | None  # the bridge's own copy, until it is hashed (done) or dropped
    filename: str | None
    sha256: str | None
    fingerprint: str | None
    size: int | None
    format: str | None
    service_name: str | None
    service_reason: str | None
    force: bool  # send it even when the same photo already has an order for its service
    state: State
    attempts: int
    next_attempt_at: float
    last_error: str | None
    order_id: str | None
    notes: list[str]
    created: float
    started: float | None
    finished: float | None
    client: str | None
    change_seq: int
    submit: bool
    results_dir: str | None
    order_state: OrderState | None
    order_error: str | None
    submits_sent: int
    submitted_at: float | None
    submit_sent_at: float | None  # when the last submit left, until its answer was heard
    eta: float | None
    order_next: float
    order_polls: int
    waiting_until: float | None  # when a queued item waits for a retry: that time
    results: list[dict]
    selection: dict | None  # what the catalog made of the space and widgets asked for
    order_request: dict | None  # the space and widgets as the host named them
    project: str | None  # the property (v3: the project's name)
    asset_id: str | None  # v3: the uploaded photo's asset
    process_id: str | None  # v3: the process its submit started
    api_version: str | None  # the API version that took the upload
    history: list[dict] = field(default_factory=list)  # its attempts, when asked for one item

    @classmethod
    def from_row(cls, row: sqlite3.Row, now: float, history: list[dict] | None = None) -> Item:
        values = {k: row[k] for k in ROW_FIELDS}
        waiting = row["state"] == State.QUEUED and row["next_attempt_at"] > now
        return cls(
            **values
            | {
                "state": State(row["state"]),
                "order_state": OrderState(row["order_state"]) if row["order_state"] else None,
                "force": bool(row["force"]),
                "submit": bool(row["submit"]),
                "notes": json.loads(row["notes"]),
                "waiting_until": row["next_attempt_at"] if waiting else None,
                "results": json.loads(row["results"]) if row["results"] else [],
                "selection": json.loads(row["selection"]) if row["selection"] else None,
                "order_request": json.loads(row["order_request"]) if row["order_request"] else None,
                "history": history or [],
            }
        )

    def to_api(self, bytes_sent: int = 0) -> dict:
        """The item as the local API, the status page and the hosts see it; `bytes_sent`
        is how far its upload under way has got."""
        sent = self.size if self.state == State.DONE else bytes_sent
        chosen = self.selection or {}
        wanted = self.order_request or {}
        return {
            "id": self.id,
            "source_id": self.source_id,
            "path": self.source_path,
            "filename": self.filename,
            "state": self.state,
            "waiting_until": self.waiting_until,
            "order_id": self.order_id,
            "error": self.last_error if self.state != State.DONE else None,
            "attempts": self.attempts,
            "service_name": self.service_name,
            "service_reason": self.service_reason,
            "size": self.size,
            "bytes_sent": min(sent or 0, self.size or 0),
            "notes": self.notes,
            "submit": self.submit,
            "order_state": self.order_state,
            "order_error": self.order_error,
            "eta": self.eta if self.order_state == OrderState.PROCESSING else None,
            "space": chosen.get("space_title") or chosen.get("space_name") or wanted.get("space") or None,
            "widgets": chosen.get("labels") or wanted.get("widgets") or {},
            "results": [
                {k: r.get(k) for k in ("path", "src", "sha256", "sequence", "note")} for r in self.results
            ],
            "project": self.project,
            "process_id": self.process_id,
        }

    def listed(self) -> dict:
        """The item seen outside its batch (history, changes): with where and when it was."""
        return self.to_api() | {
            "batch_id": self.batch_id,
            "created": self.created,
            "finished_at": self.finished,
        }

    # The read-only mapping view.
    def __getitem__(self, key: str) -> Any:
        if key not in _NAMES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_NAMES)

    def __len__(self) -> int:
        return len(_NAMES)


_NAMES = tuple(f.name for f in fields(Item))
_DERIVED = {"waiting_until", "results", "selection", "order_request", "history"}
ROW_FIELDS = tuple(n for n in _NAMES if n not in _DERIVED)  # the columns an Item is read from
