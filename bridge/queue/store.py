"""The durable queue and history: SQLite in WAL mode, one connection guarded by a lock.

Every state change is one short transaction, so a crash at any moment leaves each item
in a state that `recover()` can resume from. The API key is never stored here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SCHEMA_VERSION = 1
STATES = ("queued", "uploading", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")
MAY_BE_DUPLICATE = "may have been sent twice: the bridge stopped while this upload was under way"

_SCHEMA = """
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

ITEM_FIELDS = ("id", "batch_id", "position", "source_path", "source_id", "filename", "sha256",
               "fingerprint",
               "size", "format", "service_name", "service_reason", "state", "attempts",
               "next_attempt_at", "last_error", "order_id", "notes", "created", "started",
               "finished")


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


def storable(text: str | None) -> str | None:
    """Text SQLite (UTF-8) can hold: a non-UTF-8 file name arrives with lone surrogates."""
    if text is None:
        return None
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class Store:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process crash
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

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
                raise RuntimeError(f"{self.path} was written by a newer aihd-bridge "
                                   f"(schema {version}); please upgrade")
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- intake ---------------------------------------------------------------------------

    def add_batch(self, items: list[NewItem], client: str | None = None,
                  batch_id: str | None = None) -> str:
        """Record a batch, or add to an existing one (a host handing photos over as they
        render); good items are queued, bad ones failed at once with their error."""
        now = time.time()
        with self._tx() as db:
            if batch_id is None:
                batch_id = new_id("b")
                db.execute("INSERT INTO batches(id, created, client) VALUES (?,?,?)",
                           (batch_id, now, client))
                first = 0
            else:
                if db.execute("SELECT 1 FROM batches WHERE id=?", (batch_id,)).fetchone() is None:
                    raise KeyError(batch_id)
                first = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM items "
                                   "WHERE batch_id=?", (batch_id,)).fetchone()[0]
            for position, item in enumerate(items, start=first):
                item.id = item.id or new_id("i")
                for name in ("source_path", "source_id", "filename", "error"):
                    setattr(item, name, storable(getattr(item, name)))
                db.execute(
                    """INSERT INTO items(id, batch_id, position, source_path, source_id,
                       spool_path, filename, size, format, service_name, service_reason, state,
                       force, last_error, created, finished) VALUES
                       (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (item.id, batch_id, position, item.source_path, item.source_id,
                     item.spool_path, item.filename, item.size, item.format, item.service_name,
                     item.service_reason, "failed" if item.error else "queued", int(item.force),
                     item.error, now, now if item.error else None))
        return batch_id

    # -- the worker side ------------------------------------------------------------------

    def claim_next(self, now: float | None = None) -> dict | None:
        """Take the oldest due item and mark it uploading; None when nothing is due."""
        now = time.time() if now is None else now
        with self._tx() as db:
            row = db.execute(
                """SELECT * FROM items WHERE state='queued' AND next_attempt_at <= ?
                   ORDER BY next_attempt_at, created, position LIMIT 1""", (now,)).fetchone()
            if row is None:
                return None
            db.execute("""UPDATE items SET state='uploading', attempts=attempts+1,
                          started=COALESCE(started, ?) WHERE id=?""", (now, row["id"]))
            db.execute("INSERT INTO attempts(item_id, started) VALUES (?,?)", (row["id"], now))
            item = dict(row)
            item["attempts"] += 1
            return item

    def next_due(self) -> float | None:
        with self._lock:
            return self._db.execute(
                "SELECT MIN(next_attempt_at) FROM items WHERE state='queued'").fetchone()[0]

    def orders_like(self, fingerprint: str, service_name: str, exclude: str) -> list[dict]:
        """Earlier orders for what may be the same file (same fingerprint) and service."""
        with self._lock:
            rows = self._db.execute(
                """SELECT id, order_id, sha256, spool_path FROM items WHERE fingerprint=? AND service_name=?
                   AND order_id IS NOT NULL AND id != ? ORDER BY finished""",
                (fingerprint, service_name, exclude)).fetchall()
        return [dict(r) for r in rows]

    def next_unhashed(self) -> dict | None:
        """A done item whose spool copy waits to be hashed before it is deleted."""
        with self._lock:
            row = self._db.execute(
                """SELECT id, spool_path, format FROM items WHERE state='done' AND sha256 IS NULL
                   AND spool_path IS NOT NULL ORDER BY finished LIMIT 1""").fetchone()
        return dict(row) if row else None

    def record_hash(self, item_id: str, sha256: str | None) -> None:
        """Keep the sha256 of a done item; its spool copy is no longer needed."""
        with self._tx() as db:
            db.execute("UPDATE items SET sha256=?, spool_path=NULL WHERE id=?", (sha256, item_id))

    def mark_done(self, item_id: str, order_id: str, *, fingerprint: str, sha256: str | None,
                  outcome: str = "order") -> None:
        now = time.time()
        with self._tx() as db:
            db.execute("""UPDATE items SET state='done', order_id=?, last_error=NULL,
                          next_attempt_at=0, finished=?, fingerprint=?, sha256=? WHERE id=?""",
                       (order_id, now, fingerprint, sha256, item_id))
            self._end_attempt(db, item_id, now, outcome, order_id)

    def mark_retry(self, item_id: str, error: str, when: float, counted: bool = True) -> None:
        """Back to the queue until `when`; an uncounted try (rate limiting) does not bring
        the item closer to giving up, though its history keeps it."""
        now = time.time()
        with self._tx() as db:
            db.execute("""UPDATE items SET state='queued', last_error=?, next_attempt_at=?,
                          attempts=attempts - ? WHERE id=? AND state='uploading'""",
                       (error, when, 0 if counted else 1, item_id))
            self._end_attempt(db, item_id, now, "retry", error)

    def defer(self, item_id: str, when: float) -> None:
        """Put a claimed item back untried (its twin is under way): no attempt is counted."""
        with self._tx() as db:
            db.execute("""UPDATE items SET state='queued', attempts=attempts-1, next_attempt_at=?
                          WHERE id=? AND state='uploading'""", (when, item_id))
            db.execute("""DELETE FROM attempts WHERE id = (SELECT MAX(id) FROM attempts
                          WHERE item_id=?) AND finished IS NULL""", (item_id,))

    def mark_failed(self, item_id: str, error: str) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute("""UPDATE items SET state='failed', last_error=?, finished=?
                          WHERE id=?""", (error, now, item_id))
            self._end_attempt(db, item_id, now, "failed", error)

    def mark_cancelled_in_flight(self, item_id: str) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute("""UPDATE items SET state='cancelled', last_error='cancelled',
                          finished=? WHERE id=? AND state='uploading'""", (now, item_id))
            self._end_attempt(db, item_id, now, "cancelled", None)

    @staticmethod
    def _end_attempt(db, item_id: str, now: float, outcome: str, detail: str | None) -> None:
        db.execute("""UPDATE attempts SET finished=?, outcome=?, detail=? WHERE id =
                      (SELECT MAX(id) FROM attempts WHERE item_id=?) AND finished IS NULL""",
                   (now, outcome, detail, item_id))

    def recover(self) -> int:
        """After a crash: uploads that were under way go back to the queue, flagged."""
        with self._tx() as db:
            rows = db.execute("SELECT id, notes FROM items WHERE state='uploading'").fetchall()
            for row in rows:
                notes = json.loads(row["notes"])
                if MAY_BE_DUPLICATE not in notes:
                    notes.append(MAY_BE_DUPLICATE)
                db.execute("""UPDATE items SET state='queued', next_attempt_at=0, notes=?
                              WHERE id=?""", (json.dumps(notes), row["id"]))
                db.execute("""UPDATE attempts SET finished=?, outcome='interrupted'
                              WHERE item_id=? AND finished IS NULL""", (time.time(), row["id"]))
            return len(rows)

    # -- user actions ---------------------------------------------------------------------

    def cancel(self, *, batch_id: str | None = None,
               item_id: str | None = None) -> tuple[list[str], list[str]]:
        """Cancel what has not started. Returns the ids now cancelled, and those under way
        (they finish: an order the remote made is never dropped)."""
        where, arg = ("batch_id=?", batch_id) if batch_id else ("id=?", item_id)
        now = time.time()
        with self._tx() as db:
            ids = [r[0] for r in db.execute(
                f"SELECT id FROM items WHERE {where} AND state='queued'", (arg,))]
            db.executemany("""UPDATE items SET state='cancelled', last_error='cancelled',
                              finished=? WHERE id=?""", [(now, i) for i in ids])
            under_way = [r[0] for r in db.execute(
                f"SELECT id FROM items WHERE {where} AND state='uploading'", (arg,))]
            return ids, under_way

    def retry(self, *, batch_id: str | None = None, item_id: str | None = None) -> list[str]:
        """Queue failed or cancelled items again; never one that already has an order id."""
        where, arg = ("batch_id=?", batch_id) if batch_id else ("id=?", item_id)
        with self._tx() as db:
            ids = [r[0] for r in db.execute(
                f"""SELECT id FROM items WHERE {where} AND state IN ('failed','cancelled')
                    AND order_id IS NULL AND spool_path IS NOT NULL""", (arg,))]
            db.executemany("""UPDATE items SET state='queued', attempts=0, next_attempt_at=0,
                              finished=NULL WHERE id=?""", [(i,) for i in ids])
            return ids

    def stale_spool(self, before: float) -> list[tuple[str, str]]:
        """Spool copies of failed or cancelled items that ended before `before`."""
        with self._lock:
            return [tuple(r) for r in self._db.execute(
                """SELECT id, spool_path FROM items WHERE state IN ('failed','cancelled')
                   AND spool_path IS NOT NULL AND finished < ?""", (before,))]

    def forget_spool(self, item_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE items SET spool_path=NULL WHERE id=?", (item_id,))

    # -- the read side --------------------------------------------------------------------

    def batch(self, batch_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM batches WHERE id=?", (batch_id,)).fetchone()
            if row is None:
                return None
            items = self._db.execute(
                "SELECT * FROM items WHERE batch_id=? ORDER BY position", (batch_id,)).fetchall()
        return {"id": row["id"], "created": row["created"], "items": [_item(r) for r in items]}

    def recent_batches(self, limit: int) -> list[dict]:
        """The newest batches, each with its items."""
        with self._lock:
            ids = [r[0] for r in self._db.execute(
                "SELECT id FROM batches ORDER BY created DESC, rowid DESC LIMIT ?", (limit,))]
            return [b for b in map(self.batch, ids) if b is not None]

    def spool_copy(self, item_id: str) -> tuple[str, str | None] | None:
        """(spool path, format) of an item whose copy is still in the spool."""
        with self._lock:
            row = self._db.execute("SELECT spool_path, format FROM items WHERE id=?",
                                   (item_id,)).fetchone()
        return (row[0], row[1]) if row is not None and row[0] else None

    def item(self, item_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM items WHERE id=?", (item_id,)).fetchone()
            if row is None:
                return None
            attempts = self._db.execute(
                "SELECT started, finished, outcome, detail FROM attempts WHERE item_id=? ORDER BY id",
                (item_id,)).fetchall()
        return _item(row) | {"history": [dict(a) for a in attempts]}

    def history(self, *, state: str | None = None, source_path: str | None = None,
                source_id: str | None = None, order_id: str | None = None,
                limit: int = 100) -> list[dict]:
        clauses, args = [], []
        for column, value in (("state", state), ("source_path", source_path),
                              ("source_id", source_id), ("order_id", order_id)):
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM items {where} ORDER BY created DESC, position DESC LIMIT ?",
                (*args, limit)).fetchall()
        return [_item(r) for r in rows]

    def counts(self) -> dict[str, int]:
        now = time.time()
        with self._lock:
            rows = self._db.execute(
                """SELECT CASE WHEN state='queued' AND next_attempt_at > ? THEN 'waiting'
                   ELSE state END AS s, COUNT(*) FROM items GROUP BY s""", (now,)).fetchall()
        counts = {s: 0 for s in (*STATES, "waiting")}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def spool_paths_in_use(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute(
                "SELECT spool_path FROM items WHERE spool_path IS NOT NULL")}


def _item(row: sqlite3.Row) -> dict:
    item = {k: row[k] for k in ITEM_FIELDS}
    item["notes"] = json.loads(item["notes"])
    waiting = row["state"] == "queued" and row["next_attempt_at"] > time.time()
    item["waiting_until"] = row["next_attempt_at"] if waiting else None
    return item
