"""v3 end to end: a running bridge, real HTTP, the sandbox speaking v3 with faults on every route;
which version a key speaks, found out and shown; a v3-only tool on a v1 key."""

import collections
import hashlib
import json
from pathlib import Path

import pytest

from bridge.sandbox import Fault, FaultPlan
from support import run_cli

PROPERTY = "12 Oak Avenue, Springfield"


def _plan(seed: int, *kinds: Fault, first: Fault | None = None) -> FaultPlan:
    """10% of the requests meet one of `kinds`; `first`, if given, meets the first request."""
    return FaultPlan(script=[first] if first else [], rate=0.1, kinds=list(kinds), seed=seed)


@pytest.mark.long(25)
def test_twelve_photos_of_one_property_with_faults_each_processed_once(make_jpeg, sandbox_v3, start_bridge):
    state = sandbox_v3.state
    # The API's pace, small enough for a test, and the bridge told the same: no 429 for the rate.
    state.submit_limit, state.submit_window = 4, 3.0
    # Results served from another origin than the API's (the same machine, by another name).
    state.result_base = f"http://localhost:{sandbox_v3.port}/"
    down = [Fault(status=500), Fault(status=502), Fault(status=503), Fault(status=429)]
    state.faults = _plan(1, *down, Fault(lost=True), first=Fault(lost=True))
    state.route_faults = {
        "project": _plan(2, *down),
        "submit": _plan(3, *down, Fault(lost=True), first=Fault(lost=True)),
        "process": _plan(4, *down, Fault(drop=True)),
        "order": _plan(5, *down),
        "download": _plan(6, Fault(cut=True), *down),
    }
    config = (
        "retry_base = 0.05\nprobe_max_wait = 0.5\nrate_limit_wait = 1\nsubmit_limit = 4\nsubmit_window = 3\n"
    )
    bridge = start_bridge(sandbox_v3.url, config=config)
    photos = [make_jpeg(f"room-{n:02d}.jpg", size=(96, 72), color=(30 + 9 * n, 140, 210)) for n in range(12)]
    items = [
        {"path": str(p), "source_id": str(n), "service_name": "virtual-staging", "submit": True}
        for n, p in enumerate(photos)
    ]
    answer = bridge.upload_items(
        items, project=PROPERTY, space="Living room", widgets={"Style": "Scandinavian"}
    )
    batch = bridge.wait_orders(answer["batch_id"], timeout=240)
    assert collections.Counter(i["order_state"] for i in batch["items"]) == {"finished": 12}, [
        (i["order_state"], i["order_error"]) for i in batch["items"] if i["order_state"] != "finished"
    ]
    book = state.book
    # One project for the property, made once.
    assert [p.address for p in book.v3.projects.values() if not p.default] == [PROPERTY]
    # One order per photo; a second only where the answer to its upload was lost.
    made = collections.Counter(r["sha256"] for r in state.received if r.get("status") == 201)
    lost_uploads = state.injected["upload lost"]
    assert len(made) == 12 and sum(made.values()) - 12 <= lost_uploads
    # Each order processed exactly once, and nothing else charged.
    charges = book.counts()["charges"]
    assert not book.repeats and sum(charges.values()) == 12
    for item in batch["items"]:
        assert charges[item["order_id"]] == 1 and item["process_id"] in book.v3.processes
        assert item["project"] == PROPERTY
        # Polls of its process at least 5 s apart, failed ones counting.
        polls = book.polls[item["process_id"]]
        assert all(b - a >= 5.0 for a, b in zip(polls, polls[1:], strict=False)), polls
        (result,) = item["results"]
        served = book.result(Path(result["src"]).stem)
        assert Path(result["path"]).read_bytes() == served  # byte-identical
        assert hashlib.sha256(served).hexdigest() == result["sha256"]
    assert not book.counts().get("rate_limited")  # the bridge kept the API's pace
    assert state.downloads and all(d["key"] is None for d in state.downloads)  # no key to a result host
    assert {d["host"] for d in state.downloads} == {f"localhost:{sandbox_v3.port}"}
    assert state.injected["submit lost"] > 0 and lost_uploads > 0 and state.injected["process drop"] >= 0


def test_auto_finds_out_which_version_a_key_speaks_and_says_so(
    make_jpeg, sandbox, sandbox_v3, start_bridge, tmp_path
):
    for server, version in ((sandbox_v3, "v3"), (sandbox, "v1")):
        bridge = start_bridge(server.url, home=tmp_path / version)
        before = json.loads(run_cli("status", "--json", env=bridge.env).stdout)
        assert before["api"]["version"] is None and before["api"]["setting"] == "auto"
        batch = bridge.wait(bridge.upload([make_jpeg()], service_name="item-removal")["batch_id"])
        assert batch["items"][0]["state"] == "done", batch["items"][0]
        status = run_cli("status", env=bridge.env).stdout
        assert f"api: {version} at {server.url} (found out by asking it)" in status
        bridge.stop()
        # Remembered: a bridge started while the network is away still knows.
        again = start_bridge(server.url, home=tmp_path / version)
        assert json.loads(run_cli("status", "--json", env=again.env).stdout)["api"]["version"] == version
        again.stop()


def test_a_v3_only_tool_on_a_v1_key_fails_with_a_sentence(make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    batch = bridge.wait(bridge.upload([make_jpeg()], service_name="wall-change")["batch_id"])
    (item,) = batch["items"]
    assert item["state"] == "failed" and "Wall change needs the v3 API" in item["error"]
    assert not sandbox.state.orders()  # nothing was sent


def test_the_cli_files_photos_under_their_property(make_jpeg, sandbox_v3, start_bridge):
    bridge = start_bridge(sandbox_v3.url)
    proc = run_cli("upload", "--json", "--project", PROPERTY, make_jpeg(), make_jpeg(), env=bridge.env)
    assert proc.returncode == 0, proc.stderr
    projects = [p for p in sandbox_v3.state.book.v3.projects.values() if not p.default]
    assert [p.address for p in projects] == [PROPERTY]
    assert {r["project_id"] for r in sandbox_v3.state.orders()} == {projects[0].id}
    listed = run_cli("orders", env=bridge.env).stdout
    assert f"property {PROPERTY}" in listed
