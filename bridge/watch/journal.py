"""The journal of one watched folder: every file handed over, by its path in the folder and its
bytes, in the bridge's database (`watch_files`, migration 3 in `queue/store.py`).

A row is written in the same transaction as the item it became (`Store.add_batch(also=...)`),
so that after a crash at any moment a file is either recorded and sent, or neither: a restart
resends nothing. A file whose size or mtime changed is hashed: the same bytes are the same
photo (touched, copied over itself), other bytes a new one.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..photo.formats import OPEN_FLAGS
from ..queue.store import NewItem, Store, storable

HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileState:
    """A file of the folder as it stood when it was looked at."""

    path: str  # in the folder, '/'-separated
    size: int
    mtime_ns: int
    sha256: str


class NotTheFileSeen(Exception):
    """The path names another file than the one looked at: replaced, or no regular file."""


def sha256_of(path: str, key: tuple[int, int, int]) -> str:
    """The hash of the file at `path`, opened once without waiting (a FIFO swapped in answers
    at once) and only when that handle is a regular file with the (size, mtime, inode) `key`."""
    digest = hashlib.sha256()
    with os.fdopen(os.open(path, OPEN_FLAGS), "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or (st.st_size, st.st_mtime_ns, st.st_ino) != key:
            raise NotTheFileSeen(path)
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class Journal:
    def __init__(self, store: Store, client: str):
        self._store, self.client = store, client
        with store.transaction() as db:
            rows = db.execute(
                "SELECT path, size, mtime_ns FROM watch_files WHERE client=?", (client,)
            ).fetchall()
        # What each known path looked like: most events and every rescan end here, not in SQL.
        self._known = {r[0]: (r[1], r[2]) for r in rows}

    def __len__(self) -> int:
        return len(self._known)

    def unchanged(self, path: str, size: int, mtime_ns: int) -> bool:
        return self._known.get(storable(path)) == (size, mtime_ns)

    def same_bytes(self, state: FileState) -> bool:
        """Whether the file at this path was handed over with these very bytes; if so, its new
        size and mtime are remembered (a file touched or copied over itself is not new)."""
        path = storable(state.path)
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT sha256 FROM watch_files WHERE client=? AND path=?", (self.client, path)
            ).fetchone()
            if row is None or row[0] != state.sha256:
                return False
            db.execute(
                "UPDATE watch_files SET size=?, mtime_ns=? WHERE client=? AND path=?",
                (state.size, state.mtime_ns, self.client, path),
            )
        self._known[path] = (state.size, state.mtime_ns)
        return True

    def moved_here(self, state: FileState, exists: Callable[[str], bool]) -> tuple[str, str | None] | None:
        """A file that is a known one renamed (its old path is gone, the bytes are the same):
        the journal follows it; returns the old path and the item it was sent as."""
        path = storable(state.path)
        if not state.sha256:
            return None
        with self._store.transaction() as db:
            rows = db.execute(
                "SELECT path, item_id FROM watch_files WHERE client=? AND sha256=? AND path != ?",
                (self.client, state.sha256, path),
            ).fetchall()
            old, item_id = next(((r[0], r[1]) for r in rows if not exists(r[0])), (None, None))
            if old is None:
                return None
            db.execute("DELETE FROM watch_files WHERE client=? AND path=?", (self.client, path))
            db.execute(
                "UPDATE watch_files SET path=?, size=?, mtime_ns=? WHERE client=? AND path=?",
                (path, state.size, state.mtime_ns, self.client, old),
            )
        self._known.pop(old, None)
        self._known[path] = (state.size, state.mtime_ns)
        return old, item_id

    def move(self, old: str, new: str, size: int, mtime_ns: int) -> None:
        """The bridge moved a handed-over file itself (into done/)."""
        with self._store.transaction() as db:
            db.execute("DELETE FROM watch_files WHERE client=? AND path=?", (self.client, new))
            db.execute(
                "UPDATE watch_files SET path=?, size=?, mtime_ns=? WHERE client=? AND path=?",
                (new, size, mtime_ns, self.client, old),
            )
        self._known.pop(old, None)
        self._known[new] = (size, mtime_ns)

    def recorder(self, states: list[FileState]) -> Callable[[sqlite3.Connection, list[NewItem]], None]:
        """What `Store.add_batch` runs in its transaction: one row per file, with its item."""

        def record(db: sqlite3.Connection, items: list[NewItem]) -> None:
            now = time.time()
            db.executemany(
                """INSERT OR REPLACE INTO watch_files(client, path, size, mtime_ns, sha256,
                   item_id, recorded) VALUES (?,?,?,?,?,?,?)""",
                [
                    (self.client, storable(s.path), s.size, s.mtime_ns, s.sha256, item.id, now)
                    for s, item in zip(states, items, strict=True)
                ],
            )

        return record

    def recorded(self, states: Iterable[FileState]) -> None:
        """Once their transaction committed."""
        for s in states:
            self._known[storable(s.path) or ""] = (s.size, s.mtime_ns)

    def path_of(self, item_id: str) -> str | None:
        """Where in the folder the file of this item is now; None once another file took its place."""
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT path FROM watch_files WHERE client=? AND item_id=?", (self.client, item_id)
            ).fetchone()
        return row[0] if row else None

    def cursor(self) -> int:
        with self._store.transaction() as db:
            row = db.execute("SELECT cursor FROM watch_cursors WHERE client=?", (self.client,)).fetchone()
        return row[0] if row else 0

    def save_cursor(self, cursor: int) -> None:
        with self._store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO watch_cursors(client, cursor) VALUES (?,?)", (self.client, cursor)
            )
