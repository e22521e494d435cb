"""Upload workers: take due items from the store, send them, record the outcome.

Retries 5xx on a photo with backoff (Retry-After first); fails at once on other 4xx; never
sends a file again for a service it already has an order id for (unless forced). When the API
is out of reach or rate limiting, the whole pool waits on `RemoteHealth` and no photo is
charged an attempt: one upload at a time probes, and all resume when it gets through.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TypeVar

from ..core.clock import Clock
from ..core.config import Settings
from ..photo.formats import FORMATS, FileProblem, detect, prepared
from ..photo.thumbnails import Thumbnails
from ..remote.api import RemoteApi, Uploaded
from ..remote.backoff import Backoff
from ..remote.catalog import Catalog, NotOffered
from ..remote.client import RemoteError
from ..remote.health import RemoteHealth
from .item import Item
from .spool import NotOwnCopy, Spool, fingerprint_of, open_copy, sha256_of
from .store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
IDLE_POLL = 1.0  # seconds: also bounds every wait, so a sleep of the machine is seen soon


class WorkerPool:
    def __init__(
        self,
        store: Store,
        spool: Spool,
        client: RemoteApi,
        settings: Settings,
        backoff: Backoff | None = None,
        clock: Clock | None = None,
        thumbnails: Thumbnails | None = None,
    ):
        self.store, self.spool, self.client, self.settings = store, spool, client, settings
        self.thumbnails = thumbnails
        self.backoff = backoff or Backoff(
            base=settings.retry_base,
            rate_limit_wait=settings.rate_limit_wait,
            probe_cap=settings.probe_max_wait,
        )
        self.clock = clock or Clock()
        self.health = RemoteHealth(self.backoff, self.clock)
        self.progress: dict[str, int] = {}  # item id -> bytes sent of the upload under way
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._inflight_keys: set[tuple[str, str | None]] = set()  # (fingerprint, service)
        self._cancelled: set[str] = set()
        self.catalog: Catalog | None = None  # checks a submit's choices before its upload
        self.uploaded: Callable[[], None] = lambda: None  # told after each order id is recorded

    def start(self, count: int | None = None) -> None:
        for n in range(count or self.settings.workers):
            thread = threading.Thread(target=self._run, name=f"upload-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        hasher = threading.Thread(target=self._hash_when_idle, name="sha256", daemon=True)
        hasher.start()
        self._threads.append(hasher)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def cancel_in_flight(self, item_ids: Iterable[str]) -> None:
        with self._lock:
            self._cancelled.update(item_ids)

    def stop(self, timeout: float) -> bool:
        """Stop taking work; wait up to `timeout` for uploads under way. True if all ended."""
        self._stopping.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    @property
    def busy(self) -> int:
        return len(self.progress)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self.health.clock_jumped():  # the machine slept: every wait ends now
                self._quietly(self.store.due_now)
                self.wake()
            pause, probe = self.health.turn()
            if pause > 0:
                self._idle(pause)
                continue
            item = self._quietly(partial(self.store.claim_next, smallest=probe))
            if item is None:
                if probe:
                    self.health.release()
                due = self._quietly(self.store.next_due)
                self._idle(IDLE_POLL if due is None else max(0.01, due - self.clock.wall()))
                continue
            try:
                self._process(item)
            except Exception as exc:  # a worker never dies of one item
                log.exception("unexpected error on item %s", item.id)
                try:
                    self.store.mark_failed(
                        item.id,
                        f"{item.source_path}: internal error ({type(exc).__name__}); please report it",
                    )
                except Exception:  # the database itself fails: the item stays for recovery
                    log.exception("could not record the failure of item %s", item.id)
            finally:
                if probe:
                    self.health.release()
                self.progress.pop(item.id, None)
                if not self.progress or probe:
                    self.wake()  # the hasher waits for a moment without uploads
                    # (and after a probe, the others look at what it found)

    def _idle(self, seconds: float) -> None:
        with self._cond:
            if not self._stopping.is_set():
                self._cond.wait(min(seconds, IDLE_POLL))

    def _hash_when_idle(self) -> None:
        """Hash the spool copies of done items, then delete them. This waits while uploads
        run: hashing beside an upload would slow it, and dedupe only needs it later."""
        while not self._stopping.is_set():
            job = None if self.progress else self._quietly(self.store.next_unhashed)
            if job is None:
                with self._cond:
                    if not self._stopping.is_set():
                        self._cond.wait(0.2 if self.progress else IDLE_POLL)
                continue
            spooled = Path(job.spool_path or "")  # never None: the store picks items with a copy
            try:
                sha = sha256_of(spooled)
            except OSError:
                sha = None  # the copy is gone: this order just cannot be matched later
            self.store.record_hash(job.id, sha)
            self._drop_copy(job.id, spooled, job.format)

    def _drop_copy(self, item_id: str, spooled: Path, format_name: str | None) -> None:
        """Remove a done item's spool copy; its thumbnail for the status page is made
        first, since the host's own file may be gone by now."""
        if self.thumbnails is not None:
            self.thumbnails.make(item_id, spooled, format_name)
        self.spool.remove(spooled)

    @staticmethod
    def _quietly(read: Callable[[], T]) -> T | None:
        try:
            return read()
        except Exception:  # e.g. a database locked past its timeout: try at the next round
            log.exception("could not read the queue")
            return None

    def _process(self, item: Item) -> None:
        item_id, service = item.id, item.service_name
        name = item.source_path or item.filename
        spooled = Path(item.spool_path or "")
        try:
            fingerprint = fingerprint_of(spooled)
        except OSError as exc:
            self.store.mark_failed(item_id, f"{name}: {_copy_problem(exc)}")
            return
        key = (fingerprint, service)
        with self._lock:
            if key in self._inflight_keys:  # the same file for the same service is under way
                self.store.defer(item_id, self.clock.wall() + 1)
                return
            self._inflight_keys.add(key)
        try:
            self._send(item, name, spooled, fingerprint)
        finally:
            with self._lock:
                self._inflight_keys.discard(key)
                self._cancelled.discard(item_id)

    def _earlier_order(
        self, item: Item, spooled: Path, fingerprint: str, version: str
    ) -> tuple[Item, str] | None:
        """An order already made for this very file and service through the API version in use
        (an order of the other version cannot be submitted through this one): (it, sha256)."""
        candidates = [
            c
            for c in self.store.orders_like(fingerprint, item.service_name, exclude=item.id)
            if c.api_version in (None, version)
        ]
        if not candidates:
            return None
        sha = sha256_of(spooled)
        for candidate in candidates:
            theirs = candidate.sha256
            if theirs is None and candidate.spool_path:  # not hashed yet: its copy is here
                try:
                    theirs = sha256_of(Path(candidate.spool_path))
                except OSError:
                    continue
            if theirs == sha:
                return candidate, sha
        return None

    def _send(self, item: Item, name: str | None, spooled: Path, fingerprint: str) -> None:
        item_id = item.id
        # Intake queues only a photo it spooled, with its name, format and service.
        assert item.filename and item.format and item.service_name, f"item {item_id} was queued without them"
        try:
            version = self.client.speaker().version  # asked of the API once per key, if need be
        except RemoteError as exc:
            self._failed(item, f"{name}: {exc}", exc)
            return
        if not item.force and self._already_ordered(item, spooled, fingerprint, version):
            return
        changed = self._changed_since_intake(item, spooled)
        if changed:
            self.store.mark_failed(item_id, f"{name}: {changed}")
            return
        refused = self._order_choices(item, item.service_name)
        if refused:
            self.store.mark_failed(item_id, f"{name}: {refused}; nothing was uploaded")
            return
        self.progress[item_id] = 0
        try:
            with prepared(spooled, FORMATS[item.format], self.settings.convert_heic) as up:
                if up.filename != item.filename and up.converted_from is None:
                    up = type(up)(up.path, item.filename, up.mime)
                uploaded = self.client.upload(
                    up, item.service_name, item.project, lambda n: self.progress.__setitem__(item_id, n)
                )
        except FileProblem as exc:
            self.store.mark_failed(item_id, f"{name}: {exc.reason}")
            return
        except RemoteError as exc:
            self._failed(item, f"{name}: {exc}", exc)
            return
        if self.health.answered(item_id):
            self.wake()  # the pause is over: every worker resumes at once
        self._record_order(item_id, uploaded, fingerprint, version)

    def _already_ordered(self, item: Item, spooled: Path, fingerprint: str, version: str) -> bool:
        """Done with an earlier order of this very photo, if there is one: nothing is sent."""
        earlier = self._earlier_order(item, spooled, fingerprint, version)
        if earlier is None:
            return False
        order, sha = earlier
        assert order.order_id  # orders_like reads only items with an order id
        self.store.mark_done(
            item.id,
            order.order_id,
            fingerprint=fingerprint,
            sha256=sha,
            outcome="already ordered",
            asset_id=order.asset_id,
            api_version=order.api_version,
        )
        self._drop_copy(item.id, spooled, item.format)
        self.store.forget_spool(item.id)
        return True

    def _record_order(self, item_id: str, uploaded: Uploaded, fingerprint: str, version: str) -> None:
        """Store the order id the upload got (a few tries: it must not be lost)."""
        # Logged before it is stored: should the database refuse the write (disk full), the
        # order id is still on record.
        order_id = uploaded.order_id
        log.info("item %s done: order %s", item_id, order_id)
        for attempt in range(5):
            try:
                # The spool copy stays until the idle-time hasher has its sha256 (for dedupe).
                self.store.mark_done(
                    item_id,
                    order_id,
                    fingerprint=fingerprint,
                    sha256=None,
                    asset_id=uploaded.asset_id,
                    api_version=version,
                )
                self.uploaded()
                return
            except sqlite3.Error:
                log.exception("could not record order %s of item %s (try %d)", order_id, item_id, attempt + 1)
                time.sleep(1 + attempt)
        # Left "uploading": the next start puts it back in the queue, flagged, and the log
        # holds the order id this attempt got.
        log.error("order %s of item %s is only in this log: the database refused it", order_id, item_id)

    def _order_choices(self, item: Item, service: str) -> str | None:
        """A submit's space and widgets that intake could not check (the catalog could not be
        read then): checked now, before the upload; why they cannot be ordered, if so."""
        if not item.submit or item.selection is not None or self.catalog is None:
            return None
        wanted = item.order_request or {}
        try:
            selection = self.catalog.resolve(service, wanted.get("space"), wanted.get("widgets"))
        except NotOffered as exc:
            return str(exc)
        except RemoteError:
            return None  # still unreadable: the order follower checks again before the submit
        self.store.set_selection(item.id, selection.as_dict())
        return None

    @staticmethod
    def _changed_since_intake(item: Item, spooled: Path) -> str | None:
        """Send nothing that is not what was handed over: a hard-linked spool copy changes with
        its source if the host rewrites the file in place, and an entry in the spool that is
        no longer the bridge's own photo (a link, a pipe, other bytes) is never read through."""
        try:
            with open_copy(spooled) as fh:
                size = os.fstat(fh.fileno()).st_size
                fmt = detect(fh)
        except OSError as exc:
            return _copy_problem(exc)
        if item.size is not None and size != item.size:
            return (
                f"the file changed after it was handed over ({item.size:,} bytes, now {size:,}); "
                "export it again"
            )
        if fmt is None or fmt.name != item.format:
            return f"the bridge's copy is no longer a {item.format} photo; nothing was sent, export it again"
        return None

    def _failed(self, item: Item, error: str, exc: RemoteError) -> None:
        item_id = item.id
        # A read timeout: the API may have made an order it never told us of (never submitted).
        unanswered = exc.status is None and not exc.outage
        with self._lock:
            cancelled = item_id in self._cancelled
        if cancelled:
            self.store.mark_cancelled_in_flight(item_id)
            return
        if not exc.retryable:  # a refusal of this photo: the API itself is there
            if self.health.answered(item_id):
                self.wake()
        elif not self.health.failed(item_id, exc):
            # The API is out of reach, down or pacing us (10 orders per 10 minutes): nothing
            # about this photo. It waits with the whole pool and is charged no attempt.
            when = self.health.next_try_wall()
            log.info(
                "item %s: %s; waiting with the others until %s",
                item_id,
                error,
                time.strftime("%H:%M:%S", time.localtime(when)),
            )
            self.store.mark_retry(item_id, error, when, counted=False, unanswered=unanswered)
            return
        elif item.attempts < self.settings.max_attempts:
            delay = self.backoff.delay(item.attempts, exc)
            log.info("item %s: %s; retrying in %.0f s", item_id, error, delay)
            self.store.mark_retry(item_id, error, self.clock.wall() + delay, unanswered=unanswered)
            self.wake()
            return
        else:
            error += f" (gave up after {item.attempts} attempts)"
        log.warning("item %s failed: %s", item_id, error)
        self.store.mark_failed(item_id, error)


def _copy_problem(exc: OSError) -> str:
    if isinstance(exc, NotOwnCopy):
        return f"the bridge's copy of the file was replaced ({exc.strerror}); nothing was sent"
    return f"the bridge's copy of the file is gone ({exc.strerror or exc})"
