"""kill -9 at five moments of a 200-photo batch, restarting each time: nothing is lost, the
database stays whole, the spool ends empty, and only uploads cut by a crash may repeat."""

import collections
import hashlib
import os
import random
import signal
import sqlite3
import threading
import time

import pytest
import requests
from secrets_check import assert_no_secret

from bridge.queue.store import MAY_BE_DUPLICATE
from bridge.sandbox import Fault, FaultPlan
from support import CANARY_KEY

COUNT = 200


def _kill(bridge) -> None:
    os.kill(bridge.proc.pid, signal.SIGKILL)
    bridge.proc.wait(10)
    bridge.log.close()


@pytest.mark.long(11)
def test_kill_9_five_times(photos, sandbox, start_bridge, report):
    rng = random.Random(99)
    files = photos(COUNT)
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.02)])
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nworkers = 3\n")
    items = {"items": [{"path": str(p), "source_id": str(n)} for n, p in enumerate(files)]}
    moments = []

    # 1. During intake, while files are being linked into the spool.
    batch_id = None
    for delay in (0.004, 0.002, 0.0):
        answer = {}

        def post(items=items, answer=answer):
            try:
                answer["resp"] = bridge.post("/v1/uploads", json=items)
            except requests.RequestException as exc:
                answer["error"] = exc

        poster = threading.Thread(target=post)
        poster.start()
        time.sleep(delay)  # the behaviour: the moment of the crash
        _kill(bridge)
        poster.join(10)
        bridge.start()
        if "error" in answer:  # no 202: the host was told nothing, and hands the batch over again
            moments.append("during intake")
            break
        batch_id = answer["resp"].json()["batch_id"]  # the 202 came first: try earlier
        bridge.post(f"/v1/batches/{batch_id}/cancel")
        sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.02)])
    batch_id = bridge.post("/v1/uploads", json=items).json()["batch_id"]

    # 2-3. Just after the remote answered 200, before the bridge could record the order.
    for threshold in sorted(rng.sample(range(20, 120), 2)):
        fired = threading.Event()

        def on_order(_entry, threshold=threshold, fired=fired):
            if not fired.is_set() and len(sandbox.state.orders()) >= threshold:
                fired.set()
                os.kill(bridge.proc.pid, signal.SIGKILL)

        sandbox.state.on_order = on_order
        assert fired.wait(60), "the batch ended before the planned crash"
        sandbox.state.on_order = None
        bridge.proc.wait(10)
        bridge.log.close()
        moments.append(f"after the remote's 200 (order {threshold})")
        bridge.start()

    # 4-5. At random moments of the uploads.
    for _ in range(2):
        time.sleep(rng.uniform(0.1, 0.4))  # the behaviour: a random moment of the crash
        _kill(bridge)
        moments.append("at a random moment")
        bridge.start()

    batch = bridge.wait(batch_id, timeout=300)
    states = collections.Counter(i["state"] for i in batch["items"])
    assert states["done"] + states["failed"] == COUNT, states
    assert all(i["error"] for i in batch["items"] if i["state"] == "failed")
    orders = collections.Counter(o["sha256"] for o in sandbox.state.orders())
    repeated = 0
    for item, path in zip(batch["items"], files):
        if orders[hashlib.sha256(path.read_bytes()).hexdigest()] > 1:
            repeated += 1
            assert MAY_BE_DUPLICATE in item["notes"], item
    assert not bridge.spool_files(), "orphans left in the spool"
    bridge.stop()
    with sqlite3.connect(bridge.home / "bridge.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    output = (bridge.home / "serve-output.txt").read_text()
    assert_no_secret(CANARY_KEY, [bridge.home], [output])
    report(
        "crash and restart",
        kills=len(moments),
        items=COUNT,
        done=states["done"],
        failed=states["failed"],
        lost=0,
        resent_after_crash=repeated,
        integrity_check="ok",
        spool_orphans=0,
    )
    assert len(moments) == 5, moments
