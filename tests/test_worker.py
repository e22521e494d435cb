"""The upload workers on a database of their own, against the sandbox: what counts as an
attempt, when an item fails, and that an order is never sent twice."""

import shutil

import pytest

from bridge.config import Settings
from bridge.queue.spool import Spool
from bridge.queue.store import NewItem, Store
from bridge.queue.worker import WorkerPool
from bridge.remote.client import ApiClient
from bridge.remote.sandbox import Fault, FaultPlan
from support import CANARY_KEY, wait_until


@pytest.fixture
def pool(tmp_path, sandbox):
    """A pool of one worker with quick retries, not started; `.add(paths)` queues photos."""
    settings = Settings(home=tmp_path, api_url=sandbox.url, api_key=CANARY_KEY, workers=1,
                        retry_base=0.01, max_attempts=3, rate_limit_wait=0.2)
    store = Store(tmp_path / "bridge.sqlite3")
    spool = Spool(tmp_path / "spool")
    workers = WorkerPool(store, spool, ApiClient(settings.upload_url, CANARY_KEY), settings)

    def add(paths, **kw) -> str:
        items = []
        for n, path in enumerate(paths):
            copy = spool.path_for(f"copy{n}-{path.stem}", path.suffix)
            shutil.copyfile(path, copy)
            items.append(NewItem(source_path=str(path), source_id=f"src-{n}", spool_path=str(copy),
                                 filename=path.name, size=path.stat().st_size, format="JPEG",
                                 service_name="service-day-to-dusk", service_reason="test", **kw))
        batch_id = store.add_batch(items)
        workers.wake()
        return batch_id

    def finished(batch_id) -> list[dict]:
        def done():
            items = store.batch(batch_id)["items"]
            return items if all(i["state"] in ("done", "failed") for i in items) else None
        return wait_until(done, timeout=30, what="the batch to finish")

    workers.add, workers.finished = add, finished
    yield workers
    workers.stop(timeout=5)
    store.close()


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
