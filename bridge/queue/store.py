"""The durable queue and history: SQLite in WAL mode, one connection guarded by a lock.

Every state change is one short transaction, so a crash at any moment leaves each item
in a state that `recover()` can resume from. The API key is never stored here.

Every change a client can see (state, order id, error, wait) gives the item the next number
of one counter (`change_seq`), in the order the changes were committed: "what changed since
cursor N" is an index range, and costs nothing when nothing changed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.clock import Clock
from .item import ORDER_PENDING, STATES, Item
from .order_records import OrderRecords

SCHEMA_VERSION = 5
# Source ids one history query matches at most: SQLite allows 999 variables in a statement on
# older builds, and the Lightroom plugin asks for the selected photos in calls of 200.
MAX_SOURCE_IDS = 500
MAY_BE_DUPLICATE = "may have been sent twice: the bridge stopped while this upload was under way"

_SCHEMA_1 = """
CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    client TEXT
);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches(id),
    position INTEGER NOT NULL,
    source_path TEXT,
    source_id TEXT,
    spool_path TEXT,
    filename TEXT,
    fingerprint TEXT,
    sha256 TEXT,
    size INTEGER,
    format TEXT,
    service_name TEXT,
    service_reason TEXT,
    state TEXT NOT NULL,
    force INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    order_id TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX items_batch ON items(batch_id, position);
CREATE INDEX items_queue ON items(state, next_attempt_at);
CREATE INDEX items_dedupe ON items(fingerprint, service_name) WHERE order_id IS NOT NULL;
CREATE INDEX items_order ON items(order_id);
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES items(id),
    started REAL NOT NULL,
    finished REAL,
    outcome TEXT,
    detail TEXT
);
CREATE INDEX attempts_item ON attempts(item_id);
"""

# Version 2: the change counter, and each item's client (a copy of its batch's) so that a
# client's changes are one index range. Existing items are numbered in the order they came.
_SCHEMA_2 = """
ALTER TABLE items ADD COLUMN client TEXT;
ALTER TABLE items ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
UPDATE items SET client = (SELECT client FROM batches WHERE batches.id = items.batch_id),
                 change_seq = rowid;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters(name, value) VALUES ('change', (SELECT COALESCE(MAX(change_seq), 0) FROM items));
CREATE INDEX items_client_changes ON items(client, change_seq);
CREATE INDEX items_batch_changes ON items(batch_id, change_seq);
CREATE INDEX items_batch_state ON items(batch_id, state);
"""

# Version 3: the order lifecycle. What the host asked for (submit, its words for the space and
# widgets, a results folder), what the catalog made of it (`selection`), the order's state and
# its results; `submits_sent` counts submits sent (before each is sent: a crash then asks the
# API before sending another); `unanswered` counts uploads the API may have taken without the
# bridge hearing back (never submitted, so never charged).
_SCHEMA_3 = """
ALTER TABLE items ADD COLUMN submit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN order_request TEXT;
ALTER TABLE items ADD COLUMN selection TEXT;
ALTER TABLE items ADD COLUMN results_dir TEXT;
ALTER TABLE items ADD COLUMN order_state TEXT;
ALTER TABLE items ADD COLUMN order_error TEXT;
ALTER TABLE items ADD COLUMN submits_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN submitted_at REAL;
ALTER TABLE items ADD COLUMN eta REAL;
ALTER TABLE items ADD COLUMN order_next REAL NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN order_polls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN results TEXT NOT NULL DEFAULT '[]';
ALTER TABLE items ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0;
UPDATE items SET order_state = 'not_submitted' WHERE order_id IS NOT NULL;
CREATE INDEX items_orders ON items(order_state, order_next);
"""

# Version 4: the watch folders' journal (`bridge/watch/journal.py`): each file of a watched folder
# that was handed over, by its path in the folder and its bytes, so that a restart resends nothing;
# and how far each watch has followed its items' changes (for the .aihd.json beside each photo).
_SCHEMA_4 = """
CREATE TABLE watch_files (
    client TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    item_id TEXT REFERENCES items(id),
    recorded REAL NOT NULL,
    PRIMARY KEY (client, path)
);
CREATE INDEX watch_files_item ON watch_files(item_id);
CREATE INDEX watch_files_sha ON watch_files(client, sha256);
CREATE TABLE watch_cursors (client TEXT PRIMARY KEY, cursor INTEGER NOT NULL);
"""

# Version 5: the v3 API. The property an item belongs to (v3: its project; v1: kept and shown),
# the uploaded photo's asset id, the process a submit started, and the version that took it.
# And when the last submit left without an answer heard (a crash, a cut connection), so that no
# other is sent before it could have reached the API (`queue/follower.py`).
_SCHEMA_5 = """
ALTER TABLE items ADD COLUMN project TEXT;
ALTER TABLE items ADD COLUMN asset_id TEXT;
ALTER TABLE items ADD COLUMN process_id TEXT;
ALTER TABLE items ADD COLUMN api_version TEXT;
ALTER TABLE items ADD COLUMN submit_sent_at REAL;
"""

MIGRATIONS = {1: _SCHEMA_1, 2: _SCHEMA_2, 3: _SCHEMA_3, 4: _SCHEMA_4, 5: _SCHEMA_5}


@dataclass
class NewItem:
    """What intake knows of one item: either a spooled file, or an error."""

    source_path: str | None
    source_id: str | None
    spool_path: str | None = None
    filename: str | None = None
    size: int | None = None
    format: str | None = None
    service_name: str | None = None
    service_reason: str | None = None
    force: bool = False
    error: str | None = None
    id: str | None = None
    submit: bool = False
    order_request: dict | None = None  # the host's words: {"space", "widgets"}
    selection: dict | None = None  # what the catalog made of them (`catalog.Selection`)
    results_dir: str | None = None
    project: str | None = None  # the property: v3's project, by name


def storable(text: str | None) -> str | None:
    """Text SQLite (UTF-8) can hold: a non-UTF-8 file name arrives with lone surrogates."""
    if text is None:
        return None
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class OtherClient(ValueError):
    """Items may join a batch only for the client that made it."""


class Store(OrderRecords):
    def __init__(self, path: Path, clock: Clock | None = None):
        self.path = path
        self._now = (clock or Clock()).wall
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process crash
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction, for the tables a neighbour keeps here (the watch journal)."""
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer aihd-bridge (schema {version}); please upgrade"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @staticmethod
    def _bump(db: sqlite3.Connection, n: int = 1) -> int:
        """Take n numbers of the change counter (inside a write transaction); the first."""
        db.execute("UPDATE counters SET value = value + ? WHERE name='change'", (n,))
        return db.execute("SELECT value FROM counters WHERE name='change'").fetchone()[0] - n + 1

    # -- intake ---------------------------------------------------------------------------

    def add_batch(
        self,
        items: list[NewItem],
        client: str | None = None,
        batch_id: str | None = None,
        also: Callable[[sqlite3.Connection, list[NewItem]], None] | None = None,
    ) -> str:
        """Record a batch, or add to an existing one (a host handing photos over as they
        render); good items are queued, bad ones failed at once with their error. Items take
        their batch's client; joining another client's batch raises OtherClient. `also` writes
        the caller's own record of the items in the same transaction (the watch journal)."""
        now = self._now()
        with self._tx() as db:
            if batch_id is None:
                batch_id = new_id("b")
                db.execute("INSERT INTO batches(id, created, client) VALUES (?,?,?)", (batch_id, now, client))
                first = 0
            else:
                row = db.execute("SELECT client FROM batches WHERE id=?", (batch_id,)).fetchone()
                if row is None:
                    raise KeyError(batch_id)
                if client is not None and client != row["client"]:
                    raise OtherClient(batch_id)
                client = row["client"]
                first = db.execute(
                    "SELECT COALESCE(MAX(position) + 1, 0) FROM items WHERE batch_id=?", (batch_id,)
                ).fetchone()[0]
            seq = self._bump(db, len(items))
            for position, item in enumerate(items, start=first):
                item.id = item.id or new_id("i")
                for name in ("source_path", "source_id", "filename", "error"):
                    setattr(item, name, storable(getattr(item, name)))
                db.execute(
                    """INSERT INTO items(id, batch_id, position, source_path, source_id,
                       spool_path, filename, size, format, service_name, service_reason, state,
                       force, last_error, created, finished, client, change_seq, submit,
                       order_request, selection, results_dir, project) VALUES
                       (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (
                        item.id,
                        batch_id,
                        position,
                        item.source_path,
                        item.source_id,
                        item.spool_path,
                        item.filename,
                        item.size,
                        item.format,
                        item.service_name,
                        item.service_reason,
                        "failed" if item.error else "queued",
                        int(item.force),
                        item.error,
                        now,
                        now if item.error else None,
                        client,
                        seq + position - first,
                        int(item.submit),
                        _json_or_null(item.order_request),
                        _json_or_null(item.selection),
                        item.results_dir,
                        storable(item.project),
                    ),
                )
            if also is not None:
                also(db, items)
        return batch_id

    def recorded(self, db: sqlite3.Connection, items: list[NewItem]) -> list[Item]:
        """The items `add_batch` is recording, read in its transaction (as its `also`): as they
        were taken, queued or failed, before any worker can claim one."""
        now = self._now()
        return [
            Item.from_row(db.execute("SELECT * FROM items WHERE id=?", (i.id,)).fetchone(), now)
            for i in items
        ]

    # -- the worker side ------------------------------------------------------------------

    def claim_next(self, *, smallest: bool = False) -> Item | None:
        """Take the oldest due item (or the smallest: a probe while the API is out of reach
        wastes the least on a dead line) and mark it uploading; None when nothing is due."""
        now = self._now()
        order = "next_attempt_at, size" if smallest else "next_attempt_at, created, position"
        with self._tx() as db:
            row = db.execute(
                f"""SELECT id FROM items WHERE state='queued' AND next_attempt_at <= ?
                    ORDER BY {order} LIMIT 1""",
                (now,),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                """UPDATE items SET state='uploading', attempts=attempts+1,
                          started=COALESCE(started, ?), change_seq=? WHERE id=?""",
                (now, self._bump(db), row["id"]),
            )
            db.execute("INSERT INTO attempts(item_id, started) VALUES (?,?)", (row["id"], now))
            claimed = db.execute("SELECT * FROM items WHERE id=?", (row["id"],)).fetchone()
        return Item.from_row(claimed, now)

    def next_due(self) -> float | None:
        with self._lock:
            return self._db.execute("SELECT MIN(next_attempt_at) FROM items WHERE state='queued'").fetchone()[
                0
            ]

    def orders_like(self, fingerprint: str, service_name: str | None, exclude: str) -> list[Item]:
        """Earlier orders for what may be the same file (same fingerprint) and service."""
        now = self._now()
        with self._lock:
            rows = self._db.execute(
                """SELECT * FROM items WHERE fingerprint=? AND service_name=?
                   AND order_id IS NOT NULL AND id != ? ORDER BY finished""",
                (fingerprint, service_name, exclude),
            ).fetchall()
        return [Item.from_row(r, now) for r in rows]

    def next_unhashed(self) -> Item | None:
        """A done item whose spool copy waits to be hashed before it is deleted."""
        with self._lock:
            row = self._db.execute(
                """SELECT * FROM items WHERE state='done' AND sha256 IS NULL
                   AND spool_path IS NOT NULL ORDER BY finished LIMIT 1"""
            ).fetchone()
        return Item.from_row(row, self._now()) if row else None

    def record_hash(self, item_id: str, sha256: str | None) -> None:
        """Keep the sha256 of a done item; its spool copy is no longer needed."""
        with self._tx() as db:
            db.execute("UPDATE items SET sha256=?, spool_path=NULL WHERE id=?", (sha256, item_id))

    def mark_done(
        self,
        item_id: str,
        order_id: str,
        *,
        fingerprint: str,
        sha256: str | None,
        outcome: str = "order",
        asset_id: str | None = None,
        api_version: str | None = None,
    ) -> None:
        now = self._now()
        with self._tx() as db:
            db.execute(
                """UPDATE items SET state='done', order_id=?, asset_id=?, api_version=?, last_error=NULL,
                          next_attempt_at=0, finished=?, fingerprint=?, sha256=?, change_seq=?,
                          order_state=CASE WHEN submit THEN 'submitting' ELSE 'not_submitted' END,
                          order_next=0 WHERE id=?""",
                (order_id, asset_id, api_version, now, fingerprint, sha256, self._bump(db), item_id),
            )
            self._end_attempt(db, item_id, now, outcome, order_id)

    def mark_retry(
        self, item_id: str, error: str, when: float, counted: bool = True, unanswered: bool = False
    ) -> None:
        """Back to the queue until `when`; an uncounted try (rate limiting) does not bring
        the item closer to giving up, though its history keeps it. `unanswered`: the API may
        have taken this upload without answering (its order is never submitted)."""
        now = self._now()
        with self._tx() as db:
            db.execute(
                """UPDATE items SET state='queued', last_error=?, next_attempt_at=?,
                          attempts=attempts - ?, unanswered=unanswered + ?, change_seq=?
                          WHERE id=? AND state='uploading'""",
                (error, when, 0 if counted else 1, int(unanswered), self._bump(db), item_id),
            )
            self._end_attempt(db, item_id, now, "retry", error)

    def defer(self, item_id: str, when: float) -> None:
        """Put a claimed item back untried (its twin is under way): no attempt is counted."""
        with self._tx() as db:
            db.execute(
                """UPDATE items SET state='queued', attempts=attempts-1, next_attempt_at=?,
                          change_seq=? WHERE id=? AND state='uploading'""",
                (when, self._bump(db), item_id),
            )
            db.execute(
                """DELETE FROM attempts WHERE id = (SELECT MAX(id) FROM attempts
                          WHERE item_id=?) AND finished IS NULL""",
                (item_id,),
            )

    def mark_failed(self, item_id: str, error: str) -> None:
        now = self._now()
        with self._tx() as db:
            db.execute(
                """UPDATE items SET state='failed', last_error=?, finished=?, change_seq=?
                          WHERE id=?""",
                (error, now, self._bump(db), item_id),
            )
            self._end_attempt(db, item_id, now, "failed", error)

    def mark_cancelled_in_flight(self, item_id: str) -> None:
        now = self._now()
        with self._tx() as db:
            db.execute(
                """UPDATE items SET state='cancelled', last_error='cancelled',
                          finished=?, change_seq=? WHERE id=? AND state='uploading'""",
                (now, self._bump(db), item_id),
            )
            self._end_attempt(db, item_id, now, "cancelled", None)

    @staticmethod
    def _end_attempt(
        db: sqlite3.Connection, item_id: str, now: float, outcome: str, detail: str | None
    ) -> None:
        db.execute(
            """UPDATE attempts SET finished=?, outcome=?, detail=? WHERE id =
                      (SELECT MAX(id) FROM attempts WHERE item_id=?) AND finished IS NULL""",
            (now, outcome, detail, item_id),
        )

    def recover(self) -> int:
        """After a crash: uploads that were under way go back to the queue, flagged."""
        with self._tx() as db:
            rows = db.execute("SELECT id, notes FROM items WHERE state='uploading'").fetchall()
            for row in rows:
                notes = json.loads(row["notes"])
                if MAY_BE_DUPLICATE not in notes:
                    notes.append(MAY_BE_DUPLICATE)
                db.execute(
                    """UPDATE items SET state='queued', next_attempt_at=0, notes=?,
                              unanswered=unanswered + 1, change_seq=? WHERE id=?""",
                    (json.dumps(notes), self._bump(db), row["id"]),
                )
                db.execute(
                    """UPDATE attempts SET finished=?, outcome='interrupted'
                              WHERE item_id=? AND finished IS NULL""",
                    (self._now(), row["id"]),
                )
            return len(rows)

    # -- user actions ---------------------------------------------------------------------

    def cancel(
        self, *, batch_id: str | None = None, item_id: str | None = None
    ) -> tuple[list[str], list[str]]:
        """Cancel what has not started. Returns the ids now cancelled, and those under way
        (they finish: an order the remote made is never dropped)."""
        where, arg = ("batch_id=?", batch_id) if batch_id else ("id=?", item_id)
        now = self._now()
        with self._tx() as db:
            ids = [r[0] for r in db.execute(f"SELECT id FROM items WHERE {where} AND state='queued'", (arg,))]
            seq = self._bump(db, len(ids))
            db.executemany(
                """UPDATE items SET state='cancelled', last_error='cancelled',
                              finished=?, change_seq=? WHERE id=?""",
                [(now, seq + n, i) for n, i in enumerate(ids)],
            )
            under_way = [
                r[0] for r in db.execute(f"SELECT id FROM items WHERE {where} AND state='uploading'", (arg,))
            ]
            return ids, under_way

    def retry(self, *, batch_id: str | None = None, item_id: str | None = None) -> list[str]:
        """Queue failed or cancelled items again; never one that already has an order id."""
        where, arg = ("batch_id=?", batch_id) if batch_id else ("id=?", item_id)
        with self._tx() as db:
            ids = [
                r[0]
                for r in db.execute(
                    f"""SELECT id FROM items WHERE {where} AND state IN ('failed','cancelled')
                    AND order_id IS NULL AND spool_path IS NOT NULL""",
                    (arg,),
                )
            ]
            seq = self._bump(db, len(ids))
            db.executemany(
                """UPDATE items SET state='queued', attempts=0, next_attempt_at=0,
                              finished=NULL, change_seq=? WHERE id=?""",
                [(seq + n, i) for n, i in enumerate(ids)],
            )
            return ids

    def due_now(self) -> int:
        """End every item's wait (the machine slept, or its clock was set): how many."""
        with self._tx() as db:
            ids = [
                r[0] for r in db.execute("SELECT id FROM items WHERE state='queued' AND next_attempt_at > 0")
            ]
            seq = self._bump(db, len(ids))
            db.executemany(
                "UPDATE items SET next_attempt_at=0, change_seq=? WHERE id=?",
                [(seq + n, i) for n, i in enumerate(ids)],
            )
            db.execute(  # orders waiting for their next look: now too (not their deadline)
                f"UPDATE items SET order_next=0 WHERE order_state IN {tuple(map(str, ORDER_PENDING))}"
            )
            return len(ids)

    def stale_spool(self, before: float) -> list[tuple[str, str]]:
        """Spool copies of failed or cancelled items that ended before `before`."""
        with self._lock:
            return [
                tuple(r)
                for r in self._db.execute(
                    """SELECT id, spool_path FROM items WHERE state IN ('failed','cancelled')
                   AND spool_path IS NOT NULL AND finished < ?""",
                    (before,),
                )
            ]

    def forget_spool(self, item_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE items SET spool_path=NULL WHERE id=?", (item_id,))

    # -- the read side --------------------------------------------------------------------

    def batch(self, batch_id: str, since: int | None = None) -> dict | None:
        """A batch: its items in order (with `since`, only those changed after that cursor),
        a cursor for the next look, and totals over all its items (`summary`)."""
        now = self._now()
        with self._lock:
            row = self._db.execute("SELECT * FROM batches WHERE id=?", (batch_id,)).fetchone()
            if row is None:
                return None
            items = self._db.execute(
                "SELECT * FROM items WHERE batch_id=? AND change_seq > ? ORDER BY position",
                (batch_id, since or 0),
            ).fetchall()
            by_state = self._db.execute(
                """SELECT state, COUNT(*), COALESCE(SUM(size), 0),
                   SUM(state='queued' AND next_attempt_at > ?) FROM items WHERE batch_id=?
                   GROUP BY state""",
                (now, batch_id),
            ).fetchall()
            uploading = self._db.execute(
                "SELECT id, size FROM items WHERE batch_id=? AND state='uploading'", (batch_id,)
            ).fetchall()
            orders = self._db.execute(
                """SELECT order_state, COUNT(*) FROM items WHERE batch_id=? AND order_state IS NOT NULL
                   GROUP BY order_state""",
                (batch_id,),
            ).fetchall()
        counts = {s: 0 for s in STATES} | {r[0]: r[1] for r in by_state}
        summary = {
            "counts": counts | {"waiting": sum(r[3] for r in by_state)},
            "total": sum(counts.values()),
            "bytes_total": sum(r[2] for r in by_state),
            "bytes_done": sum(r[2] for r in by_state if r[0] == "done"),
            "uploading": {r[0]: r[1] or 0 for r in uploading},
            "orders": {r[0]: r[1] for r in orders},
        }
        return {
            "id": row["id"],
            "created": row["created"],
            "client": row["client"],
            "cursor": max([since or 0, *(r["change_seq"] for r in items)]),
            "items": [Item.from_row(r, now) for r in items],
            "summary": summary,
        }

    def changes(self, client: str, since: int, limit: int) -> tuple[list[Item], int, bool]:
        """A client's items changed after cursor `since`, in the order they changed: (up to
        `limit` items, the cursor after them, whether more wait)."""
        now = self._now()
        with self._lock:
            rows = self._db.execute(
                """SELECT * FROM items WHERE client=? AND change_seq > ? ORDER BY change_seq
                   LIMIT ?""",
                (client, since, limit + 1),
            ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [Item.from_row(r, now) for r in rows], (rows[-1]["change_seq"] if rows else since), more

    def recent_batches(self, limit: int) -> list[dict]:
        """The newest batches, each with its items."""
        with self._lock:
            ids = [
                r[0]
                for r in self._db.execute(
                    "SELECT id FROM batches ORDER BY created DESC, rowid DESC LIMIT ?", (limit,)
                )
            ]
            return [b for b in map(self.batch, ids) if b is not None]

    def spool_copy(self, item_id: str) -> tuple[str, str | None] | None:
        """(spool path, format) of an item whose copy is still in the spool."""
        with self._lock:
            row = self._db.execute("SELECT spool_path, format FROM items WHERE id=?", (item_id,)).fetchone()
        return (row[0], row[1]) if row is not None and row[0] else None

    def item(self, item_id: str) -> Item | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM items WHERE id=?", (item_id,)).fetchone()
            if row is None:
                return None
            attempts = self._db.execute(
                "SELECT started, finished, outcome, detail FROM attempts WHERE item_id=? ORDER BY id",
                (item_id,),
            ).fetchall()
        return Item.from_row(row, self._now(), history=[dict(a) for a in attempts])

    def history(
        self,
        *,
        state: str | None = None,
        source_path: str | None = None,
        source_ids: list[str] | None = None,
        order_id: str | None = None,
        client: str | None = None,
        order_state: str | None = None,
        limit: int = 100,
    ) -> list[Item]:
        """Past items, newest first; `source_ids` matches any of them."""
        clauses, args = [], []
        for column, value in (
            ("state", state),
            ("order_state", order_state),
            ("source_path", source_path),
            ("order_id", order_id),
            ("client", client),
        ):
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        if source_ids:
            clauses.append(f"source_id IN ({','.join('?' * len(source_ids))})")
            args.extend(source_ids)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM items {where} ORDER BY created DESC, position DESC LIMIT ?", (*args, limit)
            ).fetchall()
        now = self._now()
        return [Item.from_row(r, now) for r in rows]

    def counts(self) -> dict[str, int]:
        now = self._now()
        with self._lock:
            rows = self._db.execute(
                """SELECT CASE WHEN state='queued' AND next_attempt_at > ? THEN 'waiting'
                   ELSE state END AS s, COUNT(*) FROM items GROUP BY s""",
                (now,),
            ).fetchall()
        counts = {s: 0 for s in (*STATES, "waiting")}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def spool_paths_in_use(self) -> set[str]:
        with self._lock:
            return {
                r[0] for r in self._db.execute("SELECT spool_path FROM items WHERE spool_path IS NOT NULL")
            }


def _json_or_null(value: object) -> str | None:
    return None if value is None else json.dumps(value)
