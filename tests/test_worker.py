"""The upload workers on a database of their own, against the sandbox: what counts as an
attempt, when an item fails, and that an order is never sent twice."""

import shutil

import pytest

from bridge.core.config import Settings
from bridge.queue.spool import Spool
from bridge.queue.store import NewItem, Store
from bridge.queue.worker import WorkerPool
from bridge.sandbox import Fault, FaultPlan
from support import CANARY_KEY, ManualClock, remote_api, wait_until


@pytest.fixture
def make_pool(tmp_path, sandbox):
    """make_pool(clock=None, **settings): a pool (one worker, quick retries by default), not
    started; `.add(paths)` queues photos, `.finished(batch_id)` waits for them to end."""
    made = []

    def make(clock=None, **overrides) -> WorkerPool:
        settings = Settings(
            home=tmp_path,
            api_url=sandbox.url,
            api_key=CANARY_KEY,
            **(
                {
                    "workers": 1,
                    "retry_base": 0.01,
                    "max_attempts": 3,
                    "rate_limit_wait": 0.2,
                    "probe_max_wait": 0.05,
                }
                | overrides
            ),
        )
        store = Store(tmp_path / "bridge.sqlite3", clock=clock)
        spool = Spool(tmp_path / "spool")
        workers = WorkerPool(store, spool, remote_api(settings.api_url), settings, clock=clock)

        def add(paths, **kw) -> str:
            items = []
            for n, path in enumerate(paths):
                copy = spool.path_for(f"copy{n}-{path.stem}", path.suffix)
                shutil.copyfile(path, copy)
                items.append(
                    NewItem(
                        source_path=str(path),
                        source_id=f"src-{n}",
                        spool_path=str(copy),
                        filename=path.name,
                        size=path.stat().st_size,
                        format="JPEG",
                        service_name="service-day-to-dusk",
                        service_reason="test",
                        **kw,
                    )
                )
            batch_id = store.add_batch(items)
            workers.wake()
            return batch_id

        def finished(batch_id) -> list[dict]:
            def done():
                items = store.batch(batch_id)["items"]
                return items if all(i["state"] in ("done", "failed") for i in items) else None

            return wait_until(done, timeout=30, what="the batch to finish")

        workers.add, workers.finished = add, finished
        made.append(workers)
        return workers

    yield make
    for workers in made:
        workers.stop(timeout=5)
        workers.store.close()


@pytest.fixture
def pool(make_pool):
    return make_pool()


def test_server_errors_are_retried_and_counted(pool, sandbox, make_jpeg):
    sandbox.state.faults = FaultPlan(script=[Fault(status=500), Fault(status=500)])
    pool.start()
    [item] = pool.finished(pool.add([make_jpeg()]))
    assert item["state"] == "done" and item["attempts"] == 3
    assert len(sandbox.state.orders()) == 1


def test_gives_up_after_max_attempts_with_the_reason(pool, sandbox, make_jpeg):
    sandbox.state.faults = FaultPlan(script=[Fault(status=500, body='{"error": "boom"}')] * 3)
    pool.start()
    [item] = pool.finished(pool.add([make_jpeg()]))
    assert item["state"] == "failed" and item["attempts"] == 3
    assert "boom" in item["last_error"] and "gave up after 3 attempts" in item["last_error"]


def test_a_client_error_fails_at_once(pool, sandbox, make_jpeg):
    sandbox.state.faults = FaultPlan(script=[Fault(status=400, body='{"error": "bad image"}')])
    photo = make_jpeg()
    pool.start()
    [item] = pool.finished(pool.add([photo]))
    assert item["state"] == "failed" and item["attempts"] == 1
    assert item["last_error"].startswith(str(photo)) and "bad image" in item["last_error"]


def test_rate_limiting_never_counts_toward_giving_up(pool, sandbox, make_jpeg):
    sandbox.state.faults = FaultPlan(script=[Fault(status=429, retry_after="0")] * 5)
    pool.start()
    [item] = pool.finished(pool.add([make_jpeg()]))
    assert item["state"] == "done" and item["attempts"] == 1  # 5 refusals did not count


def test_the_same_photo_is_ordered_once(pool, sandbox, make_jpeg):
    photo = make_jpeg()
    pool.start()
    items = pool.finished(pool.add([photo, photo, photo]))
    assert {i["state"] for i in items} == {"done"}
    assert len({i["order_id"] for i in items}) == 1 and len(sandbox.state.orders()) == 1


def test_a_vanished_spool_copy_fails_with_its_reason(pool, make_jpeg, tmp_path):
    photo = make_jpeg()
    batch_id = pool.add([photo])  # queued while no worker runs
    next((tmp_path / "spool").iterdir()).unlink()
    pool.start()
    [item] = pool.finished(batch_id)
    assert item["state"] == "failed" and "copy of the file is gone" in item["last_error"]


def test_gateway_errors_pause_the_pool_and_charge_no_attempt(pool, sandbox, make_jpeg):
    sandbox.state.faults = FaultPlan(script=[Fault(status=502), Fault(status=503), Fault(status=504)] * 3)
    pool.start()
    [item] = pool.finished(pool.add([make_jpeg()]))
    assert item["state"] == "done" and item["attempts"] == 1  # 9 outage answers, 0 charged
    assert [a["outcome"] for a in pool.store.item(item["id"])["history"]] == ["retry"] * 9 + ["order"]


def test_server_errors_on_every_photo_are_an_outage(pool, sandbox, make_jpeg):
    # Plain 500s: each photo is charged while the API might be failing only that photo; once
    # the last attempts on several photos all failed, it is the API, and nobody is charged.
    sandbox.state.faults = FaultPlan(script=[Fault(status=500)] * 12)
    pool.start()
    items = pool.finished(pool.add([make_jpeg() for _ in range(5)]))
    assert {i["state"] for i in items} == {"done"}
    assert sum(i["attempts"] - 1 for i in items) <= 3  # at most the first window was charged
    assert pool.health.state == "ok"


def test_a_photo_the_api_keeps_failing_fails_while_others_go(pool, sandbox, make_jpeg):
    # One worker: the first photo meets a 500, the two others go through, then it meets 500s
    # twice more: the API works, this photo does not.
    sandbox.state.faults = FaultPlan(
        script=[Fault(status=500), None, None, Fault(status=500), Fault(status=500)]
    )
    pool.start()
    first, *others = pool.finished(pool.add([make_jpeg() for _ in range(3)]))
    assert first["state"] == "failed" and "gave up after 3 attempts" in first["last_error"]
    assert [i["state"] for i in others] == ["done", "done"]


def _tries(store, batch_id) -> int:
    return sum(len(store.item(i["id"])["history"]) for i in store.batch(batch_id)["items"])


def _settled(pool, batch_id):
    """Wait (for real, briefly) until no upload is under way and the pool waits for its clock."""

    def idle():
        items = pool.store.batch(batch_id)["items"]
        return not pool.busy and all(i["state"] != "uploading" for i in items)

    wait_until(idle, timeout=10, what="the pool to settle")


def _to_next_try(pool, clock) -> float:
    """Move the clock to the pool's next try; the wait it was."""
    wait = max(0.0, pool.health.next_try_wall() - clock.wall())
    clock.advance(wait + 0.001)  # (past it: the two clocks' sums round differently)
    pool.wake()
    return wait


def _probe(pool, clock, batch_id) -> float:
    """Move the clock to the pool's next try and let that one probe fail: the wait."""
    before = _tries(pool.store, batch_id)
    wait = _to_next_try(pool, clock)
    wait_until(lambda: _tries(pool.store, batch_id) > before, timeout=10, what="a probe")
    _settled(pool, batch_id)
    assert _tries(pool.store, batch_id) == before + 1  # one request at a time
    return wait


def test_a_30_minute_outage_on_a_clock_of_its_own(make_pool, sandbox, make_jpeg):
    clock = ManualClock()
    pool = make_pool(clock=clock, workers=3, retry_base=2.0, probe_max_wait=120.0)
    photos = [make_jpeg() for _ in range(6)]
    sandbox.state.unreachable_for(10**9)
    pool.start()
    batch_id = pool.add(photos)
    wait_until(lambda: pool.health.state == "unreachable", timeout=10, what="the outage noticed")
    _settled(pool, batch_id)
    waits, started = [], clock.wall()
    while clock.wall() - started < 30 * 60:
        waits.append(_probe(pool, clock, batch_id))
        assert pool.health.snapshot()["state"] == "unreachable"
        items = pool.store.batch(batch_id)["items"]
        assert {i["state"] for i in items} == {"queued"} and {i["attempts"] for i in items} == {0}
    assert max(waits) <= 120 and waits[-1] >= 60  # backed off, capped at two minutes
    since = pool.health.snapshot()["since"]
    assert since <= started and pool.health.snapshot()["last_error"].startswith("network error")

    sandbox.state.unreachable_for(0)  # the network is back: the next probe gets through
    _to_next_try(pool, clock)
    items = pool.finished(batch_id)  # and everyone resumes at once, with no clock moved
    assert [i["state"] for i in items] == ["done"] * 6 and {i["attempts"] for i in items} == {1}
    assert sorted(o["filename"] for o in sandbox.state.orders()) == sorted(p.name for p in photos)
    assert pool.health.snapshot() == {
        "state": "ok",
        "since": clock.wall(),
        "next_try": None,
        "last_error": None,
    }


def test_after_a_laptop_sleep_the_pool_tries_at_once(make_pool, sandbox, make_jpeg):
    clock = ManualClock()
    pool = make_pool(clock=clock, workers=2, retry_base=2.0, probe_max_wait=120.0)
    sandbox.state.unreachable_for(10**9)
    pool.start()
    batch_id = pool.add([make_jpeg() for _ in range(3)])
    wait_until(lambda: pool.health.state == "unreachable", timeout=10, what="the outage noticed")
    _settled(pool, batch_id)
    while pool.health.next_try_wall() - clock.wall() < 30:  # a long wait ahead
        _probe(pool, clock, batch_id)
    # The lid closes for eight hours: the monotonic clock stands still, the wall clock moves
    # on, and when the machine wakes the network is there again.
    sandbox.state.unreachable_for(0)
    clock.jump_wall(8 * 3600)
    pool.wake()
    items = pool.finished(batch_id)  # no clock moved: the wait ended with the sleep
    assert {i["state"] for i in items} == {"done"}
    assert pool.health.state == "ok"
