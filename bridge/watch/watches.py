"""Every watched folder of a running bridge: watchdog's observer for their events (its polling
observer where the OS gives none), and one thread that hands complete files over and keeps the
sidecars, so the watches live in the bridge's own process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.config import ConfigError, Settings, WatchEntry
from ..photo.rules import Rules
from ..queue.intake import Intake
from ..queue.store import Store
from .entries import WatchProblem, drop_watch, entry_problem, save_watch
from .folder import WatchedFolder

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent
    from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger(__name__)
POLL_INTERVAL = 1.0  # seconds between looks of the polling observer
TICK = 0.5  # seconds between looks at what settled and what changed for the sidecars
PRESENCE_EVERY = 5.0  # seconds between checks that each folder is (still, or again) there
SCAN_EVERY = 10.0  # seconds between looks through a folder whose file events stopped
EVENTS_STOPPED = f"file events stopped (the system's watcher died); looking every {SCAN_EVERY:g} s instead"
# Network file systems: the OS sees only this machine's writes, so events miss the others'.
NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "afpfs", "9p", "fuse.sshfs", "davfs", "fuse.rclone"}


class Watches:
    def __init__(
        self, settings: Settings, store: Store, intake: Intake, rules: Rules, wake: Callable[[], None]
    ):
        self._home = settings.home
        self._entries = settings.watches
        self._deps = {"store": store, "intake": intake, "rules": rules, "wake": wake}
        self._rules = rules
        self._folders: dict[Path, WatchedFolder] = {}
        self._observers: dict[str, BaseObserver] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_presence = 0.0

    def start(self) -> None:
        for entry in self._entries:
            self._open(entry)
        self._thread = threading.Thread(target=self._run, name="watches", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for observer in self._observers.values():
            observer.stop()
        for observer in self._observers.values():
            observer.join(5)

    # -- what the local API asks ---------------------------------------------------------

    def views(self) -> list[dict]:
        with self._lock:
            return [f.view() for f in self._folders.values()]

    def add(self, entry: WatchEntry) -> dict:
        """Watch a folder from now on, and at every start (config.toml)."""
        problem = entry_problem(entry, self._rules, self._home, must_exist=True)
        if problem:
            raise WatchProblem(problem)
        with self._lock:
            try:
                saved = save_watch(self._home, entry)
            except ConfigError as exc:
                raise WatchProblem(str(exc)) from None
            earlier = self._folders.pop(entry.dir, None)
            if earlier is not None:
                self._detach(earlier)
            return self._open(saved).view()

    def remove(self, folder: Path) -> dict | None:
        """Stop watching a folder, now and at the next start; None when it was not watched."""
        with self._lock:
            try:
                entry = drop_watch(self._home, folder)
            except ConfigError as exc:
                raise WatchProblem(str(exc)) from None
            watched = self._folders.pop(folder, None)
            if watched is not None:
                self._detach(watched)
                watched.state = "removed"
                return watched.view()
            return None if entry is None else {"dir": str(entry.dir), "state": "removed"}

    # -- running them ----------------------------------------------------------------------

    def _open(self, entry: WatchEntry) -> WatchedFolder:
        folder = WatchedFolder(entry, **self._deps)  # type: ignore[arg-type]
        self._folders[entry.dir] = folder
        folder.problem = entry_problem(entry, self._rules, self._home)
        if folder.problem:
            folder.state = "error"
            log.error("not watching %s: %s", entry.dir, folder.problem)
        else:
            self._attach(folder)
        return folder

    def _attach(self, folder: WatchedFolder) -> None:
        if not folder.root.is_dir():
            if folder.state != "missing":
                log.warning("watch %s: the folder is not there; watching it once it is", folder.root)
            folder.state, folder.mode = "missing", None
            folder.problem = "the folder is not there (a drive not plugged in, a share not mounted?)"
            return
        polling = folder.entry.poll or on_network_fs(folder.root)
        try:
            folder.observed = self._schedule(folder, "polling" if polling else "events")
            folder.mode = "polling" if polling else "events"
        except OSError as exc:  # e.g. the system's limit of inotify watches reached
            log.warning("watch %s: no file events (%s); looking every second instead", folder.root, exc)
            folder.observed = self._schedule(folder, "polling")
            folder.mode = "polling"
        folder.state, folder.problem = "watching", None
        folder.rescan_soon()
        log.info("watching %s (%s)", folder.root, folder.mode)

    def _schedule(self, folder: WatchedFolder, kind: str) -> ObservedWatch:
        from watchdog.events import (
            DirCreatedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
        )

        events = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent, FileDeletedEvent]
        events += [DirCreatedEvent, DirMovedEvent]  # a folder of photos moved in brings no file events
        return self._observer(kind).schedule(
            _Handler(folder),  # type: ignore[arg-type]  # watchdog calls only its dispatch
            str(folder.root),
            recursive=True,
            event_filter=events,
        )

    def _observer(self, kind: str) -> BaseObserver:
        observer = self._observers.get(kind)
        if observer is None:
            if kind == "polling":
                from watchdog.observers.polling import PollingObserver

                observer = PollingObserver(timeout=POLL_INTERVAL)
            else:
                from watchdog.observers import Observer

                observer = Observer()
            observer.daemon = True
            observer.start()
            self._observers[kind] = observer
        return observer

    def _detach(self, folder: WatchedFolder) -> None:
        if folder.observed is not None:
            observer = self._observers["polling" if folder.mode == "polling" else "events"]
            try:
                observer.unschedule(folder.observed)
            except KeyError:
                pass  # its emitter already ended (the folder was deleted)
            folder.observed = None
        folder.state, folder.mode = "stopped", None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._check_presence()
                self._check_observers()
                folders = list(self._folders.values())
            for folder in folders:
                try:
                    folder.tick()
                except Exception:  # one folder's trouble must not stop the others
                    log.exception("watch %s: unexpected error", folder.root)
            self._stop.wait(TICK)

    def _check_presence(self) -> None:
        """A folder that went away (a drive unplugged) is watched again once it is back."""
        now = time.monotonic()
        if now < self._next_presence:
            return
        self._next_presence = now + PRESENCE_EVERY
        for folder in self._folders.values():
            if folder.state == "watching" and not folder.root.is_dir():
                log.warning("watch %s: the folder went away; watching it again once it is back", folder.root)
                self._detach(folder)
                self._attach(folder)
            elif folder.state == "missing":
                self._attach(folder)

    def _check_observers(self) -> None:
        """A watcher thread that died (a folder nested too deep kills watchdog's walk) sends no
        more events, for that folder or, with inotify, for every folder: those folders are
        looked through every SCAN_EVERY seconds instead, and say so."""
        for folder in self._folders.values():
            if folder.observed is None or self._events_alive(folder):
                continue
            log.error("watch %s: %s", folder.root, EVENTS_STOPPED)
            self._detach(folder)
            folder.state, folder.mode, folder.problem = "watching", "scanning", EVENTS_STOPPED
            folder.rescan_every = SCAN_EVERY
            folder.rescan_soon()

    def _events_alive(self, folder: WatchedFolder) -> bool:
        observer = self._observers["polling" if folder.mode == "polling" else "events"]
        emitter = next((e for e in observer.emitters if e.watch == folder.observed), None)
        # With inotify one reader thread serves all the observer's folders, and its emitters
        # outlive it: it is asked itself (watchdog has no public word for it).
        reader = getattr(observer, "_inotify_fd", None)
        return (
            observer.is_alive()
            and emitter is not None
            and emitter.is_alive()
            and (reader is None or reader.is_alive())
        )


class _Handler:
    """watchdog's event handler interface, passing each file event to its folder."""

    def __init__(self, folder: WatchedFolder):
        self._folder = folder

    def dispatch(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._folder.on_event(event.event_type, _text(event.src_path), _text(event.dest_path))
        elif event.event_type in ("created", "moved"):
            self._folder.on_folder_arrived(_text(event.dest_path or event.src_path))


def _text(path: str | bytes) -> str:
    return path.decode(errors="surrogateescape") if isinstance(path, bytes) else path


def on_network_fs(folder: Path) -> bool:
    """Whether the folder is on a network share (Linux: /proc/self/mounts), where file events
    show only this machine's writes."""
    try:
        mounts = Path("/proc/self/mounts").read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return False
    best, fstype = "", ""
    target = str(folder.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, fstype = point, fields[2]
    return fstype in NETWORK_FS
