"""The queue's store on a fresh database of its own: states, attempts, recovery, retry rules."""

import sqlite3

import pytest

from bridge.queue.store import MAY_BE_DUPLICATE, NewItem, Store


@pytest.fixture
def fresh_store(tmp_path):
    store = Store(tmp_path / "bridge.sqlite3")
    yield store
    store.close()


def _good(n: int = 0, **kw) -> NewItem:
    return NewItem(source_path=f"/photos/{n}.jpg", source_id=f"src-{n}", spool_path=f"/spool/{n}.jpg",
                   filename=f"{n}.jpg", size=100, format="JPEG",
                   service_name="service-day-to-dusk", service_reason="chosen", **kw)


def _states(store: Store, batch_id: str) -> list[str]:
    return [i["state"] for i in store.batch(batch_id)["items"]]


def test_a_batch_keeps_good_and_bad_items_apart(fresh_store):
    bad = NewItem(source_path="/photos/x.txt", source_id="src-x", error="/photos/x.txt: not a photo")
    batch_id = fresh_store.add_batch([_good(0), bad, _good(1)])
    assert _states(fresh_store, batch_id) == ["queued", "failed", "queued"]
    assert fresh_store.batch(batch_id)["items"][1]["last_error"] == "/photos/x.txt: not a photo"
    # A host hands photos over as they render: they join the batch in order.
    fresh_store.add_batch([_good(2)], batch_id=batch_id)
    assert [i["position"] for i in fresh_store.batch(batch_id)["items"]] == [0, 1, 2, 3]
    with pytest.raises(KeyError):
        fresh_store.add_batch([_good(3)], batch_id="b_unknown")


def test_claim_takes_only_what_is_due_oldest_first(fresh_store):
    batch_id = fresh_store.add_batch([_good(0), _good(1)])
    first, second = fresh_store.batch(batch_id)["items"]
    claimed = fresh_store.claim_next()
    assert claimed["id"] == first["id"] and claimed["attempts"] == 1
    fresh_store.mark_retry(first["id"], "HTTP 503", when=10**12)  # far in the future
    assert fresh_store.claim_next()["id"] == second["id"]
    assert fresh_store.claim_next() is None
    assert fresh_store.next_due() == 10**12
    assert fresh_store.counts()["waiting"] == 1


def test_attempts_count_failures_but_not_rate_limits_or_deferrals(fresh_store):
    batch_id = fresh_store.add_batch([_good(0)])
    item_id = fresh_store.batch(batch_id)["items"][0]["id"]
    fresh_store.claim_next()
    fresh_store.mark_retry(item_id, "HTTP 502", when=0)
    fresh_store.claim_next()
    fresh_store.mark_retry(item_id, "HTTP 429", when=0, counted=False)
    fresh_store.claim_next()
    fresh_store.defer(item_id, when=0)  # its twin was under way: not tried at all
    item = fresh_store.item(item_id)
    assert item["attempts"] == 1
    # The history keeps every real try, and the deferral left no trace.
    assert [a["outcome"] for a in item["history"]] == ["retry", "retry"]


def test_recover_requeues_uploads_under_way_flagged_once(fresh_store, tmp_path):
    batch_id = fresh_store.add_batch([_good(0), _good(1)])
    fresh_store.claim_next()
    fresh_store.close()
    for _ in range(2):  # two crashes in a row: the note is added once
        store = Store(tmp_path / "bridge.sqlite3")
        assert store.recover() == 1
        store.claim_next()
        store.close()
    store = Store(tmp_path / "bridge.sqlite3")
    assert store.recover() == 1
    item = store.batch(batch_id)["items"][0]
    assert item["state"] == "queued" and item["notes"] == [MAY_BE_DUPLICATE]
    assert [a["outcome"] for a in store.item(item["id"])["history"]] == ["interrupted"] * 3
    store.close()


def test_retry_never_requeues_an_item_with_an_order(fresh_store):
    batch_id = fresh_store.add_batch([_good(0), _good(1)])
    done_id, failed_id = (i["id"] for i in fresh_store.batch(batch_id)["items"])
    fresh_store.claim_next()
    fresh_store.mark_done(done_id, "order-1", fingerprint="f", sha256=None)
    fresh_store.claim_next()
    fresh_store.mark_failed(failed_id, "HTTP 400: bad image")
    assert fresh_store.retry(batch_id=batch_id) == [failed_id]
    assert _states(fresh_store, batch_id) == ["done", "queued"]
    assert fresh_store.item(failed_id)["attempts"] == 0


def test_cancel_leaves_uploads_under_way_to_finish(fresh_store):
    batch_id = fresh_store.add_batch([_good(0), _good(1)])
    under_way = fresh_store.claim_next()["id"]
    cancelled, still_going = fresh_store.cancel(batch_id=batch_id)
    assert still_going == [under_way] and len(cancelled) == 1
    assert _states(fresh_store, batch_id) == ["uploading", "cancelled"]


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "bridge.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(RuntimeError, match="newer aihd-bridge"):
        Store(path)


def test_non_utf8_names_are_stored_readably(fresh_store):
    name = "/photos/caf\udce9.jpg"  # a Latin-1 name, as os.fsdecode gives it on Linux
    batch_id = fresh_store.add_batch([NewItem(source_path=name, source_id="s",
                                              error=f"{name}: not a photo")])
    item = fresh_store.batch(batch_id)["items"][0]
    assert item["source_path"] == "/photos/caf\\xed\\xb3\\xa9.jpg"  # escaped, not lost
    assert item["last_error"].startswith(item["source_path"])
