"""One watched folder: its file events, each complete file handed to intake once, and the
`.aihd.json` beside each photo kept up with its item through the store's change feed."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.config import WatchEntry
from ..photo.rules import Rules
from ..queue.intake import Intake, Unavailable
from ..queue.item import Item
from ..queue.store import Store
from .journal import FileState, Journal, NotTheFileSeen, sha256_of
from .names import DONE_FOLDER, folder_choice, folder_project, skipped, skipped_folder
from .settle import Settler, stat_key
from .sidecar import record, sidecar_of, write_sidecar
from .walk import files_under

if TYPE_CHECKING:
    from watchdog.observers.api import ObservedWatch

log = logging.getLogger(__name__)
HAND_OVER_MAX = 100  # files per batch
FEED_PAGE = 200  # items read from the change feed at a time
RESCAN_EVERY = 300.0  # seconds between full looks, in case the OS dropped an event


def client_name(folder: Path) -> str:
    """The client a watch's batches are recorded for (`GET /v1/changes?client=` finds them)."""
    return f"watch:{folder}"


class WatchedFolder:
    def __init__(
        self,
        entry: WatchEntry,
        *,
        store: Store,
        intake: Intake,
        rules: Rules,
        wake: Callable[[], None],
        settler: Settler | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.entry, self.root, self.client = entry, entry.dir, client_name(entry.dir)
        self._store, self._intake, self._rules, self._wake, self._now = store, intake, rules, wake, clock
        self.journal = Journal(store, self.client)
        self.settler = settler or Settler(clock=clock)
        self._cursor = self.journal.cursor()
        self._next_scan = 0.0  # the first tick looks at what is already there
        self.state = "starting"
        self.mode: str | None = None  # "events", "polling", or "scanning" once events stopped
        self.problem: str | None = None
        self.observed: ObservedWatch | None = None  # watchdog's handle of the watch, while it runs
        self.rescan_every = RESCAN_EVERY  # shorter once file events stopped coming
        self._arrived: set[str] = set()  # folders moved or created in, to look through
        self._arrived_lock = threading.Lock()
        results = entry.results
        self._results_inside = (
            results.relative_to(self.root).parts if results and results.is_relative_to(self.root) else None
        )

    # -- events, on watchdog's thread: they only say where to look ------------------------

    def on_event(self, kind: str, path: str, dest: str = "") -> None:
        if kind in ("moved", "deleted"):
            self.settler.forget(path)
        if kind == "moved":  # a rename into place is a writer done with the file
            path = dest
        if path and kind != "deleted" and self._parts(path) is not None:
            self.settler.seen(path, closed=kind in ("closed", "moved"))

    def _parts(self, path: str) -> tuple[str, ...] | None:
        """The path's parts inside the folder, or None when it is none of the watch's business."""
        try:
            parts = Path(path).relative_to(self.root).parts
        except ValueError:
            return None
        inside_results = self._results_inside and parts[: len(self._results_inside)] == self._results_inside
        return None if inside_results or skipped(parts) else parts

    # -- work, on the watches' thread ------------------------------------------------------

    def tick(self) -> None:
        if self.state != "watching":
            return
        if self._now() >= self._next_scan:
            self.scan()
        self._scan_arrived()
        self.hand_over()
        self.follow()

    def rescan_soon(self) -> None:
        self._next_scan = 0.0

    def scan(self, under: Path | None = None) -> None:
        """Look at every file once (under one subfolder: one that just arrived): what came
        while the bridge was not watching, or without an event of its own."""
        if under is None:
            self._next_scan = self._now() + self.rescan_every
        done = str(self.root / DONE_FOLDER)
        top = str(under or self.root)
        for path in files_under(top, lambda d: not skipped_folder(os.path.basename(d)) and d != done):
            parts = self._parts(path)
            if parts is None or path in self.settler:
                continue
            key = stat_key(path)
            if key is not None and not self.journal.unchanged("/".join(parts), key[0], key[1]):
                self.settler.seen(path, closed=False)

    def on_folder_arrived(self, path: str) -> None:
        """A folder created or moved in (on watchdog's thread): its files bring no events of
        their own, so it is looked through on the watches' thread."""
        if self._parts(path) is not None:
            with self._arrived_lock:
                self._arrived.add(path)

    def _scan_arrived(self) -> None:
        with self._arrived_lock:
            arrived, self._arrived = self._arrived, set()
        for path in sorted(arrived):
            self.scan(Path(path))

    def hand_over(self) -> int:
        """Hand the files that are complete now to intake, each once; how many went. They go in
        batches as they are hashed, so the first uploads start while the rest are read."""
        states: list[FileState] = []
        fields: list[dict] = []
        sent = 0
        for path in self.settler.ripe():
            parts = self._parts(path)
            key = stat_key(path)
            if parts is None or key is None:
                continue
            state = self._state_of(path, "/".join(parts), key)
            if state is None:
                continue
            if self.journal.same_bytes(state):
                continue  # touched, or copied over itself: the photo was sent already
            moved = self.journal.moved_here(state, exists=lambda p: os.path.lexists(self.root / p))
            if moved is not None:
                self._renamed(*moved, state.path)
                continue
            states.append(state)
            fields.append(
                {
                    "path": path,
                    "source_id": state.path,
                    "submit": self.entry.submit,
                    "project": self.entry.project
                    or folder_project(parts[:-1], self.root.name, self._rules.presets),
                }
                | ({"results_dir": str(self.entry.results)} if self.entry.results else {})
                | self._choice(parts)
            )
            if len(states) == HAND_OVER_MAX:
                sent += self._send(states, fields)
                states, fields = [], []
        return sent + (self._send(states, fields) if states else 0)

    def _state_of(self, path: str, rel: str, key: tuple[int, int, int]) -> FileState | None:
        if self.journal.unchanged(rel, key[0], key[1]):
            return None
        try:
            digest = sha256_of(path, key)
        except FileNotFoundError:
            return None
        except NotTheFileSeen:  # swapped since it was looked at (a link flipped to a FIFO)
            self.settler.seen(path, closed=False)
            return None
        except OSError:
            digest = ""  # unreadable: intake reports why, and a new mtime makes it new again
        if stat_key(path) != key:  # written to while it was read: not complete after all
            self.settler.seen(path, closed=False)
            return None
        return FileState(rel, key[0], key[1], digest)

    def _choice(self, parts: tuple[str, ...]) -> dict[str, str]:
        chosen = folder_choice(parts[:-1], self._rules.presets)
        if chosen:
            return chosen
        if self.entry.service:
            return {"service_name": self.entry.service}
        return {"preset": self.entry.preset} if self.entry.preset else {}

    def _send(self, states: list[FileState], fields: list[dict]) -> int:
        try:
            batch_id, items = self._intake.from_json(
                {"items": fields, "client": self.client}, also=self.journal.recorder(states), within=self.root
            )
        except Unavailable as exc:
            log.warning("watch %s: %s", self.root, exc)
            for field in fields:
                self.settler.seen(field["path"], closed=False)  # again in a moment
            return 0
        self.journal.recorded(states)
        for item in items:
            if item.error:
                log.warning("watch %s: left alone, not sent: %s", self.root, item.error)
        log.info("watch %s: %d files handed over in batch %s", self.root, len(items), batch_id)
        self._wake()
        return len(items)

    def _renamed(self, old: str, item_id: str | None, new: str) -> None:
        """A file handed over before was renamed: its sidecar follows it, nothing is resent."""
        log.info("watch %s: %s is %s renamed; not sent again", self.root, new, old)
        sidecar_of(self.root / old).unlink(missing_ok=True)
        item = self._store.item(item_id) if item_id else None
        if item is not None:
            self._reflect(item)

    def follow(self) -> None:
        """Bring each photo's sidecar up to date with what happened to its item."""
        while True:
            items, cursor, more = self._store.changes(self.client, self._cursor, FEED_PAGE)
            for item in items:
                self._reflect(item)
            if cursor != self._cursor:
                self.journal.save_cursor(cursor)
                self._cursor = cursor
            if not more:
                return

    def _reflect(self, item: Item) -> None:
        rel = self.journal.path_of(item["id"])
        if rel is None:
            return  # another file has taken its place since
        photo = self.root / rel
        if not photo.is_file():
            return  # moved away or deleted by the user: no sidecar for a photo not there
        try:
            if item["state"] == "done" and self.entry.move_done and Path(rel).parts[0] != DONE_FOLDER:
                photo = self._to_done(photo, rel)
            write_sidecar(
                photo, record(item, photo.name, submit=self.entry.submit, results_dir=self.entry.results)
            )
        except OSError as exc:
            log.warning("watch %s: could not write beside %s (%s)", self.root, photo, exc.strerror or exc)

    def _to_done(self, photo: Path, rel: str) -> Path:
        """Move an ordered photo (and its sidecar) to done/, keeping its subfolders."""
        target = _free_name(self.root / DONE_FOLDER / rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        st = photo.stat()
        # The journal first: after a crash in between, the photo is found under its old name
        # with bytes the journal knows at a path that is gone, and taken as renamed, not new.
        self.journal.move(rel, target.relative_to(self.root).as_posix(), st.st_size, st.st_mtime_ns)
        try:
            os.rename(photo, target)
        except OSError:
            self.journal.move(target.relative_to(self.root).as_posix(), rel, st.st_size, st.st_mtime_ns)
            raise
        sidecar_of(photo).unlink(missing_ok=True)
        return target

    def view(self) -> dict:
        e = self.entry
        return {
            "dir": str(e.dir),
            "service": e.service,
            "preset": e.preset,
            "submit": e.submit,
            "results": str(e.results) if e.results else None,
            "move_done": e.move_done,
            "poll": e.poll,
            "state": self.state,
            "mode": self.mode,
            "problem": self.problem,
            "files_sent": len(self.journal),
            "settling": len(self.settler),
            "client": self.client,
        }


def _free_name(path: Path) -> Path:
    """`path`, or `name (2).jpg` and so on when it is taken (an earlier photo of that name)."""
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        n += 1
    return candidate
