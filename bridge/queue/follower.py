"""Follow each order from its upload to its results: submit it exactly once, at the API's pace,
poll it gently, download what it made. It speaks to `RemoteApi`, never to a version of the API.

A submit is a charge. So the store records "about to submit" (`submits_sent`) before the
request leaves, and whenever a submit may have been sent before (a lost answer, a 5xx, a
crash) the follower asks the API first (v1: the order's images; v3: the order's processes) and
sends again only when the API says it was not submitted. Submits wait for a slot of the API's
limit (`submit_limit.py`). An order is polled first after its `eta`, then at least
`poll_interval` apart (and never sooner than the version's own gap: 5 s on v3, a failed look
counting as a look), backing off; when the API is out of reach or rate limiting, the follower
waits on the same `RemoteHealth` as the upload workers, and no order fails for it. Results are
downloaded with `remote.download` (resumed, checked, renamed into place) into the item's
results folder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.clock import Clock
from ..core.config import Settings
from ..core.text import printable
from ..remote.api import FAILED, FINISHED, NOT_SUBMITTED, OrderRef, RemoteApi, Result
from ..remote.catalog import UNKNOWN_ID_KEYS, Catalog, NotOffered, Selection
from ..remote.client import RemoteError
from ..remote.download import BadResult, fetch, place
from ..remote.health import OK, RemoteHealth
from ..remote.result_address import RefusedAddress, guarded_session
from .item import Item
from .result_names import part_name, result_stem
from .store import Store
from .submit_limit import Outlook, SubmitLimit

log = logging.getLogger(__name__)
IDLE = 1.0  # seconds between looks when nothing is due (also bounds every wait)
POLL_BACKOFF = 1.5  # each look without a result waits this much longer than the last ...
POLL_CAP = 300.0  # ... up to five minutes
QUICK_RESUMES = 4  # a cut download is resumed at once this many times before it waits
FIRST_LOOK = 5.0  # seconds after a submit without an eta before the first look


class OrderFollower:
    def __init__(
        self,
        store: Store,
        client: Callable[[], RemoteApi],
        catalog: Catalog,
        health: RemoteHealth,
        settings: Settings,
        clock: Clock | None = None,
        wake_uploads: Callable[[], None] = lambda: None,
    ):
        self.store, self._client, self.catalog, self.health = store, client, catalog, health
        self.settings = settings
        self.clock = clock or Clock()
        self.limit = SubmitLimit(settings.submit_limit, settings.submit_window, self.clock)
        self.limit.seed(store.submit_times(self.clock.wall() - settings.submit_window))
        self._wake_uploads = wake_uploads
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._results: tuple[str, Any] | None = None  # (API address, download session)

    @property
    def results_root(self) -> Path:
        return (
            Path(self.settings.results_dir) if self.settings.results_dir else self.settings.home / "results"
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="orders", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def stop(self, timeout: float) -> bool:
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        if self._results is not None:
            self._results[1].close()  # its pooled connections to result hosts
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                wait = self.step()
            except Exception:  # the follower never dies of one order or a locked database
                log.exception("the order follower met an unexpected error")
                wait = IDLE
            if wait > 0:
                with self._cond:
                    if not self._stopping.is_set():
                        self._cond.wait(min(wait, IDLE))

    def step(self) -> float:
        """Handle the orders due now; returns the seconds until the next is due (0: at once)."""
        pause, probe = self.health.turn()
        if pause > 0:
            return pause
        try:
            due = self.store.orders_due(self.clock.wall(), limit=1 if probe else 20)
            for item_id in due:
                if self._stopping.is_set() or (self.health.state != OK and not probe):
                    break
                item = self.store.item(item_id)
                if item is not None:
                    self._handle_alone(item)
        finally:
            if probe:
                self.health.release()
        if due:
            return 0.0
        following = self.store.next_order_due()
        return IDLE if following is None else max(0.0, following - self.clock.wall())

    def _handle_alone(self, item: Item) -> None:
        """One order's unexpected trouble waits with its reason (and fails it after
        `order_timeout`); the orders behind it are followed all the same."""
        try:
            self.handle(item)
        except Exception as exc:
            log.exception("item %s: unexpected error following its order", item["id"])
            why = f"an unexpected error ({type(exc).__name__}: {printable(str(exc))[:200]})"
            if not self._past_deadline(item, why):
                when = self.clock.wall() + self._poll_delay(item)
                self.store.order_wait(item["id"], when, f"waiting: {why}", polled=True)

    def handle(self, item: Item) -> None:
        if item["order_state"] == "submitting":
            self._submit(item)
        elif item["order_state"] == "processing":
            self._follow(item)

    def outlook(self) -> Outlook:
        """When the submits waiting for a slot of the API's limit will go."""
        return self.limit.outlook(self.store.submits_waiting())

    @staticmethod
    def _ref(item: Item) -> OrderRef:
        return OrderRef(item["order_id"], item["service_name"], item["asset_id"], item["process_id"])

    # -- submitting -----------------------------------------------------------------------

    def _submit(self, item: Item) -> None:
        item_id = item["id"]
        api = self._client()
        if item["submits_sent"] or self.store.order_sent_elsewhere(item["order_id"], item_id):
            # A submit may have gone out already: ask before sending another (a second charge).
            try:
                found = api.find_submit(self._ref(item))
            except RemoteError as exc:
                self._lookup_failed(item, exc, "asking whether the order was submitted")
                return
            self._answered(item_id)
            if found.state != NOT_SUBMITTED:
                log.info("item %s: order %s was submitted already; following it", item_id, item["order_id"])
                now = self.clock.wall()
                self.store.order_processing(item_id, now, now, now, process_id=found.process_id)
                return
            if self._submit_may_arrive(item, api):
                return
        selection = self._selection(item)
        if selection is None:
            return
        wait = self.limit.try_take()
        if wait > 0:
            outlook = self.outlook()
            self.store.order_wait(item_id, self.clock.wall() + wait, outlook.note)
            return
        self.store.about_to_submit(item_id, self.clock.wall())  # before it leaves: "ask first" from now on
        try:
            answer = api.submit(self._ref(item), selection)
        except RemoteError as exc:
            self.limit.answered()  # taken or not, the API may count it from now
            self._submit_refused(item, selection, exc)
            return
        self.limit.answered()
        self._answered(item_id)
        now = self.clock.wall()
        first = answer.eta if answer.eta is not None else FIRST_LOOK
        first = max(first, api.min_poll_gap)
        log.info(
            "item %s: order %s submitted%s, first look in %.0f s",
            item_id,
            item["order_id"],
            f" (process {answer.process_id})" if answer.process_id else "",
            first,
        )
        self.store.order_processing(item_id, now, now + first, now + first, process_id=answer.process_id)

    def _submit_may_arrive(self, item: Item, client: RemoteApi) -> bool:
        """A submit that left unanswered (the bridge died, the connection was cut, a gateway
        gave up) may still reach the API until the connect and read timeouts have passed since
        it left. Until then the API's "not submitted" may still change: ask again later instead
        of sending another (a second charge). True when the order waits for that."""
        sent = item["submit_sent_at"]
        if sent is None:
            return False
        settled, now = sent + client.connect_timeout + client.read_timeout, self.clock.wall()
        if now >= settled:
            return False
        note = "waiting: the last submit may still reach the API; asking again before sending another"
        self.store.order_wait(item["id"], min(settled, now + self._poll_delay(item)), note, polled=True)
        return True

    def _selection(self, item: Item, refresh: bool = False) -> Selection | None:
        """The space and widgets to send: as resolved at intake, or now (after `refresh`, from a
        catalog read again). None when the order failed or waits (the reason is recorded)."""
        if item["selection"] and not refresh:
            return Selection.from_dict(item["selection"])
        request = item["order_request"] or {}
        try:
            if refresh:
                self.catalog.service(item["service_name"], refresh=True)
            selection = self.catalog.resolve(
                item["service_name"], request.get("space"), request.get("widgets")
            )
        except NotOffered as exc:
            self.store.order_failed(item["id"], f"{self._name(item)}: {exc}; nothing was submitted")
            return None
        except RemoteError as exc:
            self._trouble(item, exc, "reading the catalog")
            return None
        self.store.set_selection(item["id"], selection.as_dict())
        return selection

    def _submit_refused(self, item: Item, selection: Selection, exc: RemoteError) -> None:
        item_id, name = item["id"], self._name(item)
        if exc.status is not None and exc.status not in (408, 502, 503, 504):
            self.store.submit_answered(item_id)  # the API's own answer: that submit is over
        words = f"{exc.key or ''} {exc.message}".lower()
        if exc.status is not None and 400 <= exc.status < 500 and "already" in words:
            self._answered(item_id)
            now = self.clock.wall()
            self.store.order_processing(item_id, now, now, now)  # taken before: follow it
        elif exc.status == 422:  # v3: a slug the tool does not take; the known ones help
            self._answered(item_id)
            known = self._known_choices(item)
            self.store.order_failed(
                item_id,
                f"{name}: the API refused the submit: {exc}{'; known choices: ' + known if known else ''}",
            )
        elif exc.status in (400, 404) and (exc.key in UNKNOWN_ID_KEYS or "unknown" in words):
            # The catalog changed under us: read it again; a selection that is still the same
            # means the refusal was not about stale ids.
            self._answered(item_id)
            fresh = self._selection(item, refresh=True)
            if fresh is not None and fresh == selection:
                self.store.order_failed(item_id, f"{name}: the API refused the submit: {exc}")
            elif fresh is not None:
                self.store.order_wait(item_id, self.clock.wall(), "the catalog changed; submitting again")
        elif not exc.retryable:
            self._answered(item_id)
            self.store.order_failed(item_id, f"{name}: the API refused the submit: {exc}")
        else:  # maybe taken, maybe not: the next look asks the API before sending again
            self._trouble(item, exc, "submitting")

    def _known_choices(self, item: Item) -> str:
        try:
            catalog = self.catalog.service(item["service_name"])
        except RemoteError:
            return ""
        parts = [f"space: {', '.join(s['title'] for s in catalog.spaces)}"] if catalog.spaces else []
        first = next(iter(catalog.widgets.values()), [])
        parts += [f"{w['title']}: {', '.join(i['title'] for i in w['items'])}" for w in first if w["items"]]
        return "; ".join(parts)

    # -- following ------------------------------------------------------------------------

    def _lookup_failed(self, item: Item, exc: RemoteError, doing: str) -> None:
        if exc.status == 404:
            self.store.order_failed(
                item["id"], f"{self._name(item)}: the API does not know order {item['order_id']}"
            )
        elif not self._past_deadline(item, str(exc)):
            self._trouble(item, exc, doing, polled=True)

    def _follow(self, item: Item) -> None:
        item_id, order_id, name = item["id"], item["order_id"], self._name(item)
        try:
            progress = self._client().progress(self._ref(item))
        except RemoteError as exc:
            self._lookup_failed(item, exc, "following the order")
            return
        self._answered(item_id)
        if progress.process_id and progress.process_id != item["process_id"]:
            self.store.set_process(item_id, progress.process_id)
        if progress.state == FAILED:
            reason = printable(progress.message or "no reason given")
            self.store.order_failed(item_id, f"{name}: the API says the order failed: {reason[:200]}")
            return
        got = {r["src"] for r in item["results"] or []}
        for result in progress.results:
            if result.src not in got and not self._download(item, result):
                return
        if progress.state == FINISHED:
            log.info("item %s: order %s finished with %d result(s)", item_id, order_id, len(progress.results))
            self.store.order_finished(item_id)
        elif not self._past_deadline(item, "the API is still working on it"):
            self.store.order_wait(item_id, self._next_look(item), polled=True)

    def _next_look(self, item: Item) -> float:
        """After a look at an order: `poll_interval` backing off, never sooner than the API's gap."""
        return self.clock.wall() + max(self._poll_delay(item), self._client().min_poll_gap)

    def _download(self, item: Item, result: Result) -> bool:
        """Fetch one result into place and record it; False when it must wait (recorded)."""
        client = self._client()
        sequence = result.sequence
        folder = Path(item["results_dir"]) if item["results_dir"] else self.results_root
        stem = result_stem(item, sequence, folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return self._result_problem(item, f"cannot make the results folder {folder} ({exc.strerror})")
        part = folder / part_name(stem, item["id"])
        timeout = (client.connect_timeout, 60.0)
        for attempt in range(1, QUICK_RESUMES + 1):
            try:
                fetched = fetch(self._results_session(client), result.src, part, timeout)
                path = place(fetched, folder, stem)
            except RemoteError as exc:
                if attempt < QUICK_RESUMES:
                    continue  # cut half-way: resume from what the part holds
                return self._result_problem(item, f"the download of result {sequence} failed ({exc})")
            except BadResult as exc:
                return self._result_problem(item, f"result {sequence}: {exc}")
            except RefusedAddress as exc:  # the API would have to send another address
                self.store.order_failed(
                    item["id"], f"{self._name(item)}: result {sequence} not fetched: {exc}"
                )
                return False
            except OSError as exc:
                return self._result_problem(
                    item, f"cannot write result {sequence} into {folder} ({exc.strerror})"
                )
            wanted = f"{stem}{fetched.format.extensions[0]}"
            # Never over a file already there (the photographer's own folder, often): said so.
            note = (
                None if path.name == wanted else f"{folder / wanted} holds another file: saved as {path.name}"
            )
            self.store.add_result(
                item["id"],
                {
                    "path": str(path),
                    "src": result.src,
                    "sha256": fetched.sha256,
                    "sequence": sequence,
                    "size": fetched.size,
                    "note": note,
                },
            )
            log.info(
                "item %s: result %d saved as %s%s", item["id"], sequence, path, f" ({note})" if note else ""
            )
            return True
        return False

    def _results_session(self, client: RemoteApi) -> Any:  # a requests session: no HTTP here
        """The session downloads go through: it connects only to the internet or the API's own
        address (`remote/result_address.py`); one per API address."""
        if self._results is None or self._results[0] != client.base_url:
            self._results = (client.base_url, guarded_session(client.base_url))
        return self._results[1]

    def _result_problem(self, item: Item, why: str) -> bool:
        if not self._past_deadline(item, why):
            self.store.order_wait(item["id"], self._next_look(item), why, polled=True)
        return False

    def _past_deadline(self, item: Item, why: str) -> bool:
        """Give up on an order with no result after `order_timeout`; True when it did."""
        started = item["submitted_at"] or item["finished"] or self.clock.wall()
        if self.clock.wall() - started < self.settings.order_timeout:
            return False
        hours = self.settings.order_timeout / 3600
        self.store.order_failed(
            item["id"], f"{self._name(item)}: no result after {hours:g} h; gave up ({why})"
        )
        self._forget_parts(item)
        return True

    def _forget_parts(self, item: Item) -> None:
        folder = Path(item["results_dir"]) if item["results_dir"] else self.results_root
        for part in folder.glob(f".*.{item['id']}.part"):
            part.unlink(missing_ok=True)

    def _poll_delay(self, item: Item) -> float:
        return min(POLL_CAP, self.settings.poll_interval * POLL_BACKOFF ** min(item["order_polls"], 20))

    # -- the API's state ------------------------------------------------------------------

    def _answered(self, item_id: str) -> None:
        if self.health.answered(item_id):
            self._wake_uploads()  # a pause is over for the uploads too

    def _trouble(self, item: Item, exc: RemoteError, doing: str, polled: bool = False) -> None:
        """A failure that is not the order's: wait (with every upload, when the API is out of
        reach or rate limiting), never fail. After a failed look at the order (`polled`), the
        next is no sooner than the API's gap: no Retry-After, no dropped connection hurries it."""
        note = f"waiting: {doing} met {exc}"
        if self._past_deadline(item, note):
            return
        if exc.status is not None and exc.status not in (408, 429) and exc.status < 500:
            when = self.clock.wall() + self._poll_delay(item)  # an answer, just not a usable one
        elif exc.status == 429 or exc.outage or exc.status in (502, 503, 504):
            self.health.failed(item["id"], exc)
            when = max(self.health.next_try_wall(), self.clock.wall() + 1)
        else:  # a read timeout or a 5xx on this order alone: look again after a pause
            when = self.clock.wall() + self._poll_delay(item)
        if polled:
            when = max(when, self.clock.wall() + self._client().min_poll_gap)
        log.info(
            "item %s: %s; next look at %s", item["id"], note, time.strftime("%H:%M:%S", time.localtime(when))
        )
        self.store.order_wait(item["id"], when, note, polled=True)

    @staticmethod
    def _name(item: Item) -> str:
        return item["source_path"] or item["filename"] or item["id"]
