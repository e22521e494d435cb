"""kill -9 of the bridge while it submits, and again while it downloads results: every order is
still submitted exactly once, and no result is ever half-written under its final name."""

import os
import signal
import threading
from pathlib import Path

import pytest

from bridge.photo.formats import check_file
from bridge.sandbox import Fault, FaultPlan
from support import wait_until

COUNT = 12
CONFIG = "retry_base = 0.05\npoll_interval = 0.05\nsubmit_limit = 1000\n"


def _kill(bridge) -> None:
    os.kill(bridge.proc.pid, signal.SIGKILL)
    bridge.proc.wait(10)
    bridge.log.close()


def _dusk_orders(files) -> list[dict]:
    """Each photo as a day-to-dusk order to submit, with the sky the v1 catalog needs."""
    return [
        {
            "path": str(p),
            "source_id": str(n),
            "service_name": "day-to-dusk",
            "submit": True,
            "widgets": {"Sky Style": "Dusk with cloud"},
        }
        for n, p in enumerate(files)
    ]


def _whole_results(folder: Path, state) -> int:
    """Every file under a final name is a complete image the sandbox served; how many."""
    served = set(state.book._results.values())
    finals = [p for p in folder.glob("*") if not p.name.startswith(".")] if folder.exists() else []
    for path in finals:
        check_file(path, 200_000_000)  # raises on a cut-off JPEG
        assert path.read_bytes() in served, path
    return len(finals)


def test_kill_9_while_submitting_and_while_downloading(photos, sandbox, start_bridge, report):
    files = photos(COUNT)
    state = sandbox.state
    state.submit_limit = 1000  # the API's pace is not what this test is about
    bridge = start_bridge(sandbox.url, config=CONFIG)
    fired = threading.Event()

    # 1. Just after the API took (and charged) the 4th submit, before its answer left.
    def on_submit(_order_id):
        if not fired.is_set() and sum(state.book.charges.values()) >= 4:
            fired.set()
            os.kill(bridge.proc.pid, signal.SIGKILL)

    state.book.on_submit = on_submit
    state.route_faults = {"download": FaultPlan(rate=1.0, kinds=[Fault(stall=0.4)])}
    batch_id = bridge.upload_items(_dusk_orders(files))["batch_id"]
    assert fired.wait(60), "no submit reached the planned crash"
    bridge.proc.wait(10)
    bridge.log.close()
    state.book.on_submit = None
    charged_at_crash = sum(state.book.charges.values())
    bridge.start()

    # 2. While results come in: each download stalls half-way, and the bridge dies there.
    results = bridge.home / "results"
    wait_until(lambda: list(results.glob(".*.part")), 60, "a download", step=0.01)
    _kill(bridge)
    finals_at_crash = _whole_results(results, state)
    parts_at_crash = len(list(results.glob(".*.part")))
    state.route_faults = {}
    bridge.start()

    batch = bridge.wait_orders(batch_id, timeout=120)
    states = [i["order_state"] for i in batch["items"]]
    assert states == ["finished"] * COUNT, [(i["order_state"], i["order_error"]) for i in batch["items"]]
    charges = state.book.counts()["charges"]
    assert sorted(charges) == sorted(i["order_id"] for i in batch["items"])
    assert set(charges.values()) == {1} and not state.book.repeats  # exactly once, never resent
    assert _whole_results(results, state) == COUNT
    assert not list(results.glob(".*.part"))
    for item in batch["items"]:
        (result,) = item["results"]
        served = state.book.result(result["src"].rsplit("/", 1)[1].removesuffix(".jpg"))
        assert Path(result["path"]).read_bytes() == served
    report(
        "orders: crash",
        kills=2,
        orders=COUNT,
        charged_when_killed_submitting=charged_at_crash,
        whole_results_when_killed_downloading=finals_at_crash,
        parts_left_then=parts_at_crash,
        finished=COUNT,
        submitted_twice=0,
        half_written_results=0,
    )


SLOW = 3.0  # seconds the API takes over each submit


@pytest.mark.long(17)
def test_kill_9_while_a_slow_api_holds_the_submit_never_submits_twice(photos, sandbox, start_bridge, report):
    """The bridge dies while the API still works on its submit, restarts at once, asks, and
    hears "not submitted" (the API has not finished): it must ask again, never send another."""
    count, kills = 6, 3
    files = photos(count)
    state = sandbox.state
    # Timeouts above the API's slowness (each submit is taken), short enough for the test.
    config = CONFIG + "connect_timeout = 1\nread_timeout = 5\n"
    bridge = start_bridge(sandbox.url, config=config)
    state.route_faults = {"submit": FaultPlan(rate=1.0, kinds=[Fault(delay=SLOW)])}
    batch_id = bridge.upload_items(_dusk_orders(files))["batch_id"]
    for n in range(1, kills + 1):
        # a submit is with the API now
        wait_until(lambda n=n: state.injected["submit delay"] >= n * 2 - 1, 60, "a submit", step=0.01)
        _kill(bridge)
        bridge.start()
        # the next submit of the restarted bridge
        wait_until(
            lambda n=n: state.injected["submit delay"] >= n * 2, 60, "a submit after the restart", step=0.01
        )
    state.route_faults = {}
    batch = bridge.wait_orders(batch_id, timeout=120)
    assert [i["order_state"] for i in batch["items"]] == ["finished"] * count, [
        (i["order_state"], i["order_error"]) for i in batch["items"]
    ]
    counts = state.book.counts()
    assert set(counts["charges"].values()) == {1} and len(counts["charges"]) == count
    assert not counts["repeats"] and set(counts["requests"].values()) == {1}, counts  # none resent
    report("orders: crash, slow API", kills=kills, api_s_per_submit=SLOW, submits_resent=0, double_charges=0)
