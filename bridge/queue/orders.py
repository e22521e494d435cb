"""Follow each order from its upload to its results: submit it exactly once, poll it gently,
download what it made.

A submit is a charge. So the store records "about to submit" (`submits_sent`) before the
request leaves, and whenever a submit may have been sent before (a lost answer, a 5xx, a
crash) the follower asks the API for the order first and sends again only when the API says
it was not submitted. An order is polled first after its `eta`, then at least `poll_interval`
apart, backing off; when the API is out of reach or rate limiting, the follower waits on the
same `RemoteHealth` as the upload workers, and no order fails for it. Results are downloaded
with `remote.download` (resumed, checked, renamed into place) into the item's results folder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..clock import Clock
from ..config import Settings
from ..remote.catalog import UNKNOWN_ID_KEYS, Catalog, NotOffered, Selection
from ..remote.client import ApiClient, RemoteError
from ..remote.download import BadResult, fetch, place
from ..remote.health import OK, RemoteHealth
from .item import Item
from .store import Store

log = logging.getLogger(__name__)
IDLE = 1.0  # seconds between looks when nothing is due (also bounds every wait)
POLL_BACKOFF = 1.5  # each look without a result waits this much longer than the last ...
POLL_CAP = 300.0  # ... up to five minutes
QUICK_RESUMES = 4  # a cut download is resumed at once this many times before it waits
DEFAULT_ETA = 60.0  # seconds, when the API gives no usable eta
# The API documents no order status values; these are read as "not submitted yet" ...
NOT_SUBMITTED = {"", "uploaded", "created", "new", "draft", "not_submitted", "unsubmitted"}
# ... these as "it failed", and these as "done" (with the images' own regular_finished).
FAILED = {"failed", "error", "cancelled", "canceled", "rejected"}
DONE = {"finished", "done", "completed", "complete", "regular_finished", "succeeded"}
READY = "regular_finished"


def service_short(service: str) -> str:
    return service.removeprefix("service-").removeprefix("ai-")


NAME_BYTES = 255  # the longest file name most file systems take (ext4, APFS, NTFS), in bytes here
TAKEN_SUFFIX = len(" (999).jpeg")  # what `place` may add to a stem


def result_stem(item: Item, sequence: int) -> str:
    """`<source stem>_<service>_<n>`: beside the photo's own name in any folder listing. The
    source's stem is cut, on a character, so that each name made from it fits the file system:
    the final one with `place`'s ` (n)` and extension, and the `.part` beside it."""
    source = Path(item["filename"] or item["source_path"] or item["id"]).stem
    tail = f"_{service_short(item['service_name'])}_{sequence}"
    room = NAME_BYTES - len(tail.encode()) - max(TAKEN_SUFFIX, len(_part_name("", item).encode()))
    cut = source.encode("utf-8", "surrogatepass")[: max(room, 1)].decode("utf-8", "ignore")
    return cut + tail


def _part_name(stem: str, item: Item) -> str:
    return f".{stem}.{item['id']}.part"


class OrderFollower:
    def __init__(
        self,
        store: Store,
        client: Callable[[], ApiClient],
        catalog: Catalog,
        health: RemoteHealth,
        settings: Settings,
        clock: Clock | None = None,
        wake_uploads: Callable[[], None] = lambda: None,
    ):
        self.store, self._client, self.catalog, self.health = store, client, catalog, health
        self.settings = settings
        self.clock = clock or Clock()
        self._wake_uploads = wake_uploads
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

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
            return not self._thread.is_alive()
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
                    self.handle(item)
        finally:
            if probe:
                self.health.release()
        if due:
            return 0.0
        following = self.store.next_order_due()
        return IDLE if following is None else max(0.0, following - self.clock.wall())

    def handle(self, item: Item) -> None:
        if item["order_state"] == "submitting":
            self._submit(item)
        elif item["order_state"] == "processing":
            self._follow(item)

    # -- submitting -----------------------------------------------------------------------

    def _submit(self, item: Item) -> None:
        item_id, order_id = item["id"], item["order_id"]
        client = self._client()
        if item["submits_sent"] or self.store.order_sent_elsewhere(order_id, item_id):
            # A submit may have gone out already: ask before sending another (a second charge).
            try:
                status = client.call("GET", f"/v1/order/{order_id}")
            except RemoteError as exc:
                if exc.status == 404:
                    self.store.order_failed(
                        item_id, f"{self._name(item)}: the API does not know order {order_id}"
                    )
                else:
                    self._trouble(item, exc, "asking whether the order was submitted")
                return
            self._answered(item_id)
            if str(status.get("status") or "").lower() not in NOT_SUBMITTED or status.get("generated_images"):
                log.info("item %s: order %s was submitted already; following it", item_id, order_id)
                now = self.clock.wall()
                self.store.order_processing(item_id, now, now, now)
                return
        selection = self._selection(item)
        if selection is None:
            return
        self.store.about_to_submit(item_id)  # before it leaves: "ask first" from now on
        payload = {
            "order_id": order_id,
            "space_name": selection.space_name,
            "selected_widgets": selection.selected,
        }
        try:
            answer = client.call("POST", "/v1/order", payload=payload)
        except RemoteError as exc:
            self._submit_refused(item, selection, exc)
            return
        self._answered(item_id)
        now = self.clock.wall()
        eta = answer.get("eta")
        eta = float(eta) if isinstance(eta, (int, float)) and 0 <= eta < 7 * 86400 else DEFAULT_ETA
        log.info("item %s: order %s submitted, results expected in %.0f s", item_id, order_id, eta)
        self.store.order_processing(item_id, now, now + eta, now + eta)

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
        words = f"{exc.key or ''} {exc.message}".lower()
        if exc.status is not None and 400 <= exc.status < 500 and "already" in words:
            self._answered(item_id)
            now = self.clock.wall()
            self.store.order_processing(item_id, now, now, now)  # taken before: follow it
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

    # -- following ------------------------------------------------------------------------

    def _follow(self, item: Item) -> None:
        item_id, order_id, name = item["id"], item["order_id"], self._name(item)
        try:
            status = self._client().call("GET", f"/v1/order/{order_id}")
        except RemoteError as exc:
            if exc.status == 404:
                self.store.order_failed(item_id, f"{name}: the API does not know order {order_id}")
            elif not self._past_deadline(item, str(exc)):
                self._trouble(item, exc, "following the order")
            return
        self._answered(item_id)
        state = str(status.get("status") or "").lower()
        if state in FAILED:
            reason = status.get("error") or status.get("message") or state
            self.store.order_failed(item_id, f"{name}: the API says the order {state}: {str(reason)[:200]}")
            return
        images = [i for i in status.get("generated_images") or [] if isinstance(i, dict)]
        ready = [i for i in images if i.get("status") == READY and isinstance(i.get("src"), str)]
        got = {r["src"] for r in item["results"] or []}
        for n, image in enumerate(sorted(ready, key=lambda i: i.get("sequence") or 0), start=1):
            if image["src"] not in got and not self._download(item, image, n):
                return
        complete = bool(ready) and (state in DONE or len(ready) == len(images))
        if complete:
            log.info("item %s: order %s finished with %d result(s)", item_id, order_id, len(ready))
            self.store.order_finished(item_id)
        elif state in DONE:
            self.store.order_failed(item_id, f"{name}: the API finished the order without any image")
        elif not self._past_deadline(item, f"the API still says '{state or 'nothing'}'"):
            self.store.order_wait(item_id, self.clock.wall() + self._poll_delay(item), polled=True)

    def _download(self, item: Item, image: dict, n: int) -> bool:
        """Fetch one result into place and record it; False when it must wait (recorded)."""
        client = self._client()
        given = image.get("sequence")
        sequence = given if isinstance(given, int) and given > 0 else n
        folder = Path(item["results_dir"]) if item["results_dir"] else self.results_root
        stem = result_stem(item, sequence)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return self._result_problem(item, f"cannot make the results folder {folder} ({exc.strerror})")
        part = folder / _part_name(stem, item)
        timeout = (client.connect_timeout, 60.0)
        for attempt in range(1, QUICK_RESUMES + 1):
            try:
                fetched = fetch(client.session, image["src"], part, timeout)
                path = place(fetched, folder, stem)
            except RemoteError as exc:
                if attempt < QUICK_RESUMES:
                    continue  # cut half-way: resume from what the part holds
                return self._result_problem(item, f"the download of result {sequence} failed ({exc})")
            except BadResult as exc:
                return self._result_problem(item, f"result {sequence}: {exc}")
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
                    "src": image["src"],
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

    def _result_problem(self, item: Item, why: str) -> bool:
        if not self._past_deadline(item, why):
            self.store.order_wait(item["id"], self.clock.wall() + self._poll_delay(item), why, polled=True)
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

    def _trouble(self, item: Item, exc: RemoteError, doing: str) -> None:
        """A failure that is not the order's: wait (with every upload, when the API is out of
        reach or rate limiting), never fail."""
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
        log.info(
            "item %s: %s; next look at %s", item["id"], note, time.strftime("%H:%M:%S", time.localtime(when))
        )
        self.store.order_wait(item["id"], when, note, polled=True)

    @staticmethod
    def _name(item: Item) -> str:
        return item["source_path"] or item["filename"] or item["id"]
