"""Everything a running bridge holds: store, spool, rules, remote client, workers, watched folders."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from .core.config import Settings
from .core.keystore import find_key
from .photo.rules import Rules
from .photo.thumbnails import Thumbnails
from .queue.follower import OrderFollower
from .queue.intake import Intake
from .queue.spool import Spool, open_copy
from .queue.store import Store
from .queue.worker import WorkerPool
from .remote.api import RemoteApi
from .remote.catalog import Catalog
from .watch.watches import Watches

log = logging.getLogger(__name__)
DB_FILE = "bridge.sqlite3"
SPOOL_KEEP_DAYS = 7
THUMBS_KEEP_DAYS = 90


Connect = Callable[[Settings], AbstractContextManager[RemoteApi]]


class Runtime:
    """`connect` makes the client for a settings' key: the API's, or a sandbox's without one
    (`bridge.connect.remote_client`; the runtime cannot import it, since it starts a server)."""

    def __init__(self, settings: Settings, connect: Connect):
        self.settings = settings
        self._connect = connect
        self.store = Store(settings.home / DB_FILE)
        self.spool = Spool(settings.home / "spool")
        self.rules = Rules.load(settings.home)
        self._client_exit = contextlib.ExitStack()  # the client in use (and its sandbox)
        self._retired: list[contextlib.ExitStack] = []  # earlier ones, closed once idle
        self.client = self._client_exit.enter_context(connect(settings))
        self.catalog = Catalog(lambda: self.client)
        self.intake = Intake(settings, self.store, self.spool, self.rules, self.catalog)
        self.thumbnails = Thumbnails(settings.home / "thumbs", open_file=open_copy)
        self.pool = WorkerPool(self.store, self.spool, self.client, settings, thumbnails=self.thumbnails)
        self.pool.catalog = self.catalog
        self.orders = OrderFollower(
            self.store,
            lambda: self.client,
            self.catalog,
            self.pool.health,
            settings,
            wake_uploads=self.pool.wake,
        )
        self._reload_lock = threading.Lock()
        self.watches = Watches(settings, self.store, self.intake, self.rules, wake=self.pool.wake)

    @property
    def mode(self) -> str:
        return "sandbox" if self.settings.sandbox else "live"

    def api_view(self) -> dict:
        """Which API version is in use: as set, or found out (None until `auto` has asked)."""
        return {"version": self.client.version, "setting": self.client.setting, "url": self.client.base_url}

    def start(self) -> None:
        requeued = self.store.recover()
        if requeued:
            log.warning(
                "%d uploads were under way when the bridge stopped; they go again, "
                "flagged as possibly sent twice",
                requeued,
            )
        self.clean_spool()
        self.thumbnails.prune(THUMBS_KEEP_DAYS)
        self.pool.start()
        self.orders.start()
        self.watches.start()

    def clean_spool(self) -> None:
        """Drop copies nothing refers to (a crash between spooling and recording) and the
        copies of failed or cancelled items older than SPOOL_KEEP_DAYS (kept for retries)."""
        for item_id, path in self.store.stale_spool(time.time() - SPOOL_KEEP_DAYS * 86400):
            self.spool.remove(path)
            self.store.forget_spool(item_id)
        for orphan in self.spool.orphans(self.store.spool_paths_in_use()):
            self.spool.remove(orphan)

    def reload_key(self, env=None) -> str:
        """Take up a key stored (or removed) since start; returns the mode now in force.
        Uploads under way finish on the old client; the next ones use the new one."""
        with self._reload_lock:
            key = find_key(self.settings.home, os.environ if env is None else env).key
            if key != self.settings.api_key:
                self.settings = self.settings.replace(api_key=key)
                old, self._client_exit = self._client_exit, contextlib.ExitStack()
                self.client = self._client_exit.enter_context(self._connect(self.settings))
                under_way = set(self.pool.progress)
                self.pool.client = self.client
                self._retired.append(old)
                threading.Thread(
                    target=self._retire, args=(old, under_way), name="retire-client", daemon=True
                ).start()
                self.catalog.clear()
                log.info("API key changed: now in %s mode", self.mode)
            return self.mode

    def _retire(self, old: contextlib.ExitStack, under_way: set[str]) -> None:
        """Close a replaced client (and its sandbox) once the uploads it carried are over."""
        while under_way & set(self.pool.progress):
            time.sleep(0.2)
        with self._reload_lock:
            if old in self._retired:
                self._retired.remove(old)
                old.close()

    def stop(self, timeout: float = 20.0) -> None:
        self.watches.stop()  # no new work first
        self.orders.stop(timeout)
        if not self.pool.stop(timeout):
            log.warning(
                "uploads still under way after %.0f s; they will be retried at the next start", timeout
            )
        with self._reload_lock:
            for stack in [*self._retired, self._client_exit]:
                stack.close()
            self._retired.clear()
        self.store.close()
