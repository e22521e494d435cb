"""The queue's store on a fresh database of its own: states, attempts, recovery, retry rules."""

import sqlite3

import pytest

from bridge.queue.store import MAY_BE_DUPLICATE, MIGRATIONS, SCHEMA_VERSION, NewItem, OtherClient, Store


@pytest.fixture
def fresh_store(tmp_path):
    store = Store(tmp_path / "bridge.sqlite3")
    yield store
    store.close()


def _good(n: int = 0, **kw) -> NewItem:
    return NewItem(
        source_path=f"/photos/{n}.jpg",
        source_id=f"src-{n}",
        spool_path=f"/spool/{n}.jpg",
        filename=f"{n}.jpg",
        size=100,
        format="JPEG",
        service_name="service-day-to-dusk",
        service_reason="chosen",
        **kw,
    )


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
    batch_id = fresh_store.add_batch([NewItem(source_path=name, source_id="s", error=f"{name}: not a photo")])
    item = fresh_store.batch(batch_id)["items"][0]
    assert item["source_path"] == "/photos/caf\\xed\\xb3\\xa9.jpg"  # escaped, not lost
    assert item["last_error"].startswith(item["source_path"])


def test_a_poll_with_an_unchanged_cursor_finds_nothing(fresh_store):
    batch_id = fresh_store.add_batch([_good(0), _good(1), _good(2)])
    first = fresh_store.batch(batch_id)
    assert len(first["items"]) == 3 and first["cursor"] > 0
    unchanged = fresh_store.batch(batch_id, since=first["cursor"])
    assert unchanged["items"] == [] and unchanged["cursor"] == first["cursor"]
    assert unchanged["summary"]["counts"]["queued"] == 3 and unchanged["summary"]["total"] == 3
    claimed = fresh_store.claim_next()
    after_claim = fresh_store.batch(batch_id, since=first["cursor"])
    assert [i["id"] for i in after_claim["items"]] == [claimed["id"]]
    assert after_claim["items"][0]["state"] == "uploading" and after_claim["cursor"] > first["cursor"]
    fresh_store.mark_done(claimed["id"], "order-1", fingerprint="f", sha256=None)
    done = fresh_store.batch(batch_id, since=after_claim["cursor"])
    assert [(i["id"], i["order_id"]) for i in done["items"]] == [(claimed["id"], "order-1")]
    assert done["summary"]["counts"] == {
        "queued": 2,
        "uploading": 0,
        "done": 1,
        "failed": 0,
        "cancelled": 0,
        "waiting": 0,
    }
    assert done["summary"]["bytes_done"] == 100 and done["summary"]["bytes_total"] == 300
    # What a client cannot see (the idle-time hash) is no change.
    fresh_store.record_hash(claimed["id"], "0" * 64)
    assert fresh_store.batch(batch_id, since=done["cursor"])["items"] == []


def test_changes_are_scoped_by_client_and_paged(fresh_store):
    ours = fresh_store.add_batch([_good(n) for n in range(5)], client="lightroom:catalog-a")
    theirs = fresh_store.add_batch([_good(n) for n in range(5)], client="lightroom:catalog-b")
    seen, cursor, more = [], 0, True
    while more:  # pages of two, in the order things changed
        items, cursor, more = fresh_store.changes("lightroom:catalog-a", cursor, limit=2)
        seen += items
    assert [i["source_id"] for i in seen] == [f"src-{n}" for n in range(5)]
    assert {i["batch_id"] for i in seen} == {ours}
    assert fresh_store.changes("lightroom:catalog-a", cursor, limit=2) == ([], cursor, False)
    # The other catalog's photos, with the very same source ids, change: nothing for us.
    fresh_store.cancel(batch_id=theirs)
    assert fresh_store.changes("lightroom:catalog-a", cursor, limit=100)[0] == []
    cancelled, _, _ = fresh_store.changes("lightroom:catalog-b", 0, limit=100)
    assert {i["state"] for i in cancelled} == {"cancelled"} and len(cancelled) == 5


def test_items_join_a_batch_only_for_its_own_client(fresh_store):
    batch_id = fresh_store.add_batch([_good(0)], client="lightroom:a")
    fresh_store.add_batch([_good(1), _good(2)], batch_id=batch_id)  # the batch's client
    fresh_store.add_batch([_good(3)], client="lightroom:a", batch_id=batch_id)
    assert {i["client"] for i in fresh_store.batch(batch_id)["items"]} == {"lightroom:a"}
    with pytest.raises(OtherClient):
        fresh_store.add_batch([_good(4)], client="lightroom:b", batch_id=batch_id)
    assert len(fresh_store.batch(batch_id)["items"]) == 4


def test_every_wait_ends_after_a_sleep(fresh_store):
    batch_id = fresh_store.add_batch([_good(0), _good(1)])
    for _ in range(2):
        item = fresh_store.claim_next()
        fresh_store.mark_retry(item["id"], "HTTP 500", when=10**12)
    cursor = fresh_store.batch(batch_id)["cursor"]
    assert fresh_store.claim_next() is None
    assert fresh_store.due_now() == 2
    assert len(fresh_store.batch(batch_id, since=cursor)["items"]) == 2  # a change clients see
    assert fresh_store.claim_next() is not None


def test_a_version_1_database_upgrades_in_place(tmp_path):
    path = tmp_path / "bridge.sqlite3"
    with sqlite3.connect(path) as db:  # what aihd-bridge wrote before the change counter
        db.executescript(MIGRATIONS[1])
        db.execute("PRAGMA user_version=1")
        for n, (batch, client) in enumerate([("b_1", "lightroom"), ("b_2", "cli")]):
            db.execute("INSERT INTO batches(id, created, client) VALUES (?,?,?)", (batch, n, client))
            for pos in range(2):
                db.execute(
                    """INSERT INTO items(id, batch_id, position, source_id, state, created,
                              order_id) VALUES (?,?,?,?,?,?,?)""",
                    (f"i_{batch}_{pos}", batch, pos, f"src-{pos}", "done", n, f"o-{n}{pos}"),
                )
    store = Store(path)
    try:
        assert store.history(limit=10)[0]["client"] in ("lightroom", "cli")
        items, cursor, more = store.changes("lightroom", 0, limit=10)
        assert [i["order_id"] for i in items] == ["o-00", "o-01"] and not more
        assert store.changes("lightroom", cursor, limit=10)[0] == []
        new = store.add_batch([_good(9)], client="lightroom")  # numbers go on after the old ones
        assert store.changes("lightroom", cursor, limit=10)[0][0]["batch_id"] == new
        assert store.batch("b_2")["cursor"] > 0
        # Orders made before the order lifecycle were never submitted by the bridge, and stay so.
        old = store.item("i_b_1_0")
        assert old["order_state"] == "not_submitted" and old["results"] == [] and not old["submit"]
        assert store.orders_due(now=10**12) == []
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == max(MIGRATIONS)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"counters", "watch_files", "watch_cursors"} <= tables


def test_items_are_typed_records_with_one_api_view(fresh_store):
    from bridge.queue.item import Item, State

    batch_id = fresh_store.add_batch([_good(0)])
    item_id = fresh_store.batch(batch_id)["items"][0]["id"]
    fresh_store.claim_next()
    fresh_store.mark_done(item_id, "order-1", fingerprint="f", sha256=None)
    item = fresh_store.item(item_id)
    assert isinstance(item, Item) and item.state is State.DONE and item.submit is False
    assert item["order_id"] == item.order_id == "order-1"  # read-only mapping view too
    view = item.to_api(bytes_sent=3)
    assert view["bytes_sent"] == item.size  # a done upload sent everything, whatever was said
    assert view["error"] is None and view["results"] == [] and view["state"] == "done"
    assert item.listed()["batch_id"] == batch_id
    with pytest.raises(AttributeError):
        item.state = State.FAILED  # frozen: the store is the one writer
