"""The order side of the store: what the order follower reads and records, one short
transaction per change, each a visible change (the next `change_seq`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .item import Item

PENDING = ("submitting", "processing")


class OrderRecords:
    """Mixed into `Store`: it provides the connection, its lock and transactions."""

    if TYPE_CHECKING:
        _db: sqlite3.Connection
        _lock: Any  # an RLock
        _now: Callable[[], float]

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        @staticmethod
        def _bump(db: sqlite3.Connection, n: int = 1) -> int: ...

        def item(self, item_id: str) -> Item | None: ...

    def orders_due(self, now: float, limit: int = 20) -> list[str]:
        """Ids of items whose order waits to be submitted or looked at, soonest first."""
        with self._lock:
            return [
                r[0]
                for r in self._db.execute(
                    f"""SELECT id FROM items WHERE order_state IN {PENDING} AND order_next <= ?
                        ORDER BY order_next, created LIMIT ?""",
                    (now, limit),
                )
            ]

    def next_order_due(self) -> float | None:
        with self._lock:
            return self._db.execute(
                f"SELECT MIN(order_next) FROM items WHERE order_state IN {PENDING}"
            ).fetchone()[0]

    def order_sent_elsewhere(self, order_id: str, item_id: str) -> bool:
        """Whether another item (the same photo, deduplicated) already submitted this order."""
        with self._lock:
            return (
                self._db.execute(
                    "SELECT 1 FROM items WHERE order_id=? AND id != ? AND submits_sent > 0",
                    (order_id, item_id),
                ).fetchone()
                is not None
            )

    def _order_update(self, item_id: str, sets: str, args: tuple = ()) -> None:
        with self._tx() as db:
            db.execute(f"UPDATE items SET {sets}, change_seq=? WHERE id=?", (*args, self._bump(db), item_id))

    def set_selection(self, item_id: str, selection: dict) -> None:
        self._order_update(item_id, "selection=?", (json.dumps(selection),))

    def about_to_submit(self, item_id: str, now: float) -> None:
        """Recorded before the submit leaves: after a crash or a lost answer the follower asks
        the API whether it was taken before it sends another, and sends none while it may
        still arrive."""
        self._order_update(
            item_id, "submits_sent=submits_sent + 1, submit_sent_at=?, order_state='submitting'", (now,)
        )

    def submit_answered(self, item_id: str) -> None:
        """The API answered the last submit (a refusal): it will not arrive later."""
        self._order_update(item_id, "submit_sent_at=NULL")

    def order_processing(
        self, item_id: str, submitted_at: float, eta: float, next_look: float, process_id: str | None = None
    ) -> None:
        self._order_update(
            item_id,
            "order_state='processing', order_error=NULL, submitted_at=COALESCE(submitted_at, ?), eta=?,"
            " order_next=?, process_id=COALESCE(?, process_id)",
            (submitted_at, eta, next_look, process_id),
        )

    def set_process(self, item_id: str, process_id: str) -> None:
        self._order_update(item_id, "process_id=?", (process_id,))

    def submits_waiting(self) -> int:
        """Orders that wait to be submitted (each needs a slot of the API's limit)."""
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM items WHERE order_state='submitting' AND submits_sent=0"
            ).fetchone()[0]

    def submit_times(self, since: float) -> list[float]:
        """When the submits answered since `since` (wall time) were taken."""
        with self._lock:
            return [
                r[0]
                for r in self._db.execute(
                    "SELECT submitted_at FROM items WHERE submitted_at IS NOT NULL AND submitted_at > ?",
                    (since,),
                )
            ]

    def order_wait(self, item_id: str, when: float, note: str | None = None, polled: bool = False) -> None:
        """Look again at `when`; `note` says why it waits (shown, not a failure)."""
        self._order_update(
            item_id, "order_next=?, order_error=?, order_polls=order_polls + ?", (when, note, int(polled))
        )

    def order_failed(self, item_id: str, error: str) -> None:
        self._order_update(item_id, "order_state='failed', order_error=?, order_next=0", (error,))

    def add_result(self, item_id: str, result: dict) -> None:
        with self._tx() as db:
            row = db.execute("SELECT results FROM items WHERE id=?", (item_id,)).fetchone()
            results = [r for r in json.loads(row[0]) if r.get("src") != result["src"]] + [result]
            db.execute(
                "UPDATE items SET results=?, change_seq=? WHERE id=?",
                (json.dumps(results), self._bump(db), item_id),
            )

    def order_finished(self, item_id: str) -> None:
        self._order_update(item_id, "order_state='finished', order_error=NULL, order_next=0")

    def order_counts(self) -> dict[str, int]:
        """Items per order state, and the uploads the API may have taken unanswered."""
        with self._lock:
            rows = self._db.execute(
                "SELECT order_state, COUNT(*) FROM items WHERE order_state IS NOT NULL GROUP BY order_state"
            ).fetchall()
            unanswered = self._db.execute("SELECT COALESCE(SUM(unanswered), 0) FROM items").fetchone()[0]
        return {r[0]: r[1] for r in rows} | {"unanswered_uploads": unanswered}
