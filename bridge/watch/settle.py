"""When a file that is being written is complete.

A file is complete once its writer let go: quiet for `quiet` seconds after a close-after-write
(or after being renamed into place, which writers do when they are done), or, where the
file system gives no close event (polling, macOS, Windows, network shares), with the same
size, mtime and inode for `stable` seconds. Events only say when to look again; the decision
is always taken on a fresh `stat`.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

QUIET = 1.0  # seconds without a change after a close-after-write or a rename into place
STABLE = 3.0  # seconds of the same size and mtime when no close event was seen


def stat_key(path: str) -> tuple[int, int, int] | None:
    """(size, mtime in ns, inode) of a regular file; None when it is gone or not a file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


@dataclass
class _Pending:
    key: tuple[int, int, int]
    since: float  # when it last changed or was last reported
    closed: bool  # its writer closed it (or renamed it into place) after the last change


class Settler:
    """The files seen changing and not yet complete. Thread-safe: the watcher's thread reports,
    the watches' thread collects what is ripe."""

    def __init__(
        self,
        quiet: float = QUIET,
        stable: float = STABLE,
        clock: Callable[[], float] = time.monotonic,
        key: Callable[[str], tuple[int, int, int] | None] = stat_key,
    ):
        self.quiet, self.stable, self._now, self._key = quiet, stable, clock, key
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: str) -> bool:
        return path in self._pending

    def seen(self, path: str, closed: bool) -> None:
        """A file was created, written, closed after writing (`closed`) or renamed into place."""
        key = self._key(path)
        with self._lock:
            if key is None:
                self._pending.pop(path, None)
            else:
                self._pending[path] = _Pending(key, self._now(), closed)

    def forget(self, path: str) -> None:
        with self._lock:
            self._pending.pop(path, None)

    def _wait(self, p: _Pending) -> float:
        # An empty file closed at once is often a placeholder its writer fills next.
        return self.quiet if p.closed and p.key[0] > 0 else self.stable

    def next_due(self) -> float | None:
        """When the next file may be ripe (on the settler's clock), if any is pending."""
        with self._lock:
            return min((p.since + self._wait(p) for p in self._pending.values()), default=None)

    def ripe(self) -> list[str]:
        """The files complete now; they leave the settler. A file that changed since it was
        last seen starts over, and needs the longer wait: a writer is at work without events."""
        now, done = self._now(), []
        with self._lock:
            due = [(path, p) for path, p in self._pending.items() if now - p.since >= self._wait(p)]
        for path, p in due:
            key = self._key(path)
            with self._lock:
                if self._pending.get(path) is not p:
                    continue  # reported again meanwhile
                if key is None:
                    del self._pending[path]
                elif key != p.key:
                    self._pending[path] = _Pending(key, now, closed=False)
                else:
                    del self._pending[path]
                    done.append(path)
        return done
