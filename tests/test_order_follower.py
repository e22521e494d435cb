"""The order follower on a clock of its own (hours of waiting without waiting), against the
sandbox speaking each version over real HTTP: submitted exactly once, looked at gently, results
whole; the same follower for v1 and v3, which it never tells apart."""

import hashlib
from pathlib import Path

import pytest
from flask import Flask, request

from bridge.core.config import Settings
from bridge.photo.formats import UploadFile
from bridge.queue.follower import OrderFollower
from bridge.queue.store import NewItem, Store
from bridge.remote.backoff import Backoff
from bridge.remote.catalog import Catalog
from bridge.remote.health import RemoteHealth
from bridge.sandbox import Fault, FaultPlan, SandboxState, create_sandbox_app
from bridge.web.background import BackgroundServer
from support import ManualClock, jpeg_bytes, remote_api

ETA = 30.0
PROPERTY = "12 Oak Avenue"
SKY = {"Sky style": "Dusk with cloud"}  # v1 needs one; v3 takes it, or uses its default


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture(params=["v1", "v3"])
def version(request):
    return request.param


@pytest.fixture
def api(clock, version):
    """A sandbox whose orders take ETA seconds of the test's clock."""
    state = SandboxState(processing_time=ETA, clock=clock, api=version)
    with BackgroundServer(create_sandbox_app(state)) as server:
        server.state = state
        yield server


@pytest.fixture
def client(api, version):
    c = remote_api(api.url, version=version, read_timeout=5)
    yield c
    c.close()


@pytest.fixture
def world(tmp_path, api, client, clock, version):
    """A store, a follower and `order(...)`: an item uploaded to the sandbox, ready to submit."""
    store = Store(tmp_path / "bridge.sqlite3", clock)
    settings = Settings(home=tmp_path, poll_interval=5.0, order_timeout=86400.0)
    catalog = Catalog(lambda: client, clock)
    health = RemoteHealth(Backoff(base=0.01, probe_cap=60), clock)
    follower = OrderFollower(store, lambda: client, catalog, health, settings, clock)
    photo = tmp_path / "front.jpg"
    photo.write_bytes(jpeg_bytes(size=(160, 120), color=(120, 170, 220)))

    def order(service="service-day-to-dusk", space=None, widgets=SKY, submit=True) -> str:
        uploaded = client.upload(UploadFile(photo, photo.name, "image/jpeg"), service, PROPERTY)
        selection = catalog.resolve(service, space, widgets).as_dict() if submit else None
        item = NewItem(
            str(photo), "src", spool_path=str(photo), filename=photo.name, size=1, format="JPEG",
            service_name=service, submit=submit, selection=selection, project=PROPERTY,
            order_request={"space": space, "widgets": widgets or {}},
        )  # fmt: skip
        store.add_batch([item])
        claimed = store.claim_next()
        store.mark_done(
            claimed["id"],
            uploaded.order_id,
            fingerprint="f",
            sha256=None,
            asset_id=uploaded.asset_id,
            api_version=version,
        )
        return claimed["id"]

    class World:
        pass

    w = World()
    w.store, w.follower, w.order, w.catalog, w.settings = store, follower, order, catalog, settings
    yield w
    store.close()


def _run(world, clock, seconds: float, step: float = 1.0) -> None:
    """Let `seconds` of the test's clock pass, the follower doing what is due each second."""
    for _ in range(int(seconds / step)):
        world.follower.step()
        clock.advance(step)
    world.follower.step()


def _looks(api, item) -> list[float]:
    """When the sandbox was asked about the order (v1) or its process (v3), by its own clock."""
    return api.state.book.polls[item["process_id"] or item["order_id"]]


def test_submitted_once_first_look_after_eta_then_gently(world, api, clock, version):
    item_id = world.order()
    world.follower.step()  # the submit
    item = world.store.item(item_id)
    assert item["order_state"] == "processing", item["order_error"]
    start = clock.monotonic()
    first = ETA if version == "v1" else 5.0  # v1 says when (its eta); v3 only how often (5 s)
    _run(world, clock, first - 1)
    assert _looks(api, item) == []  # nothing asked before then
    api.state.book.processing_time = ETA + 40  # it takes longer than announced
    _run(world, clock, 90)
    looks = _looks(api, world.store.item(item_id))
    gaps = [b - a for a, b in zip(looks, looks[1:], strict=False)]
    assert looks[0] - start >= first and gaps and min(gaps) >= world.settings.poll_interval
    assert gaps == sorted(gaps)  # backing off
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    assert list(api.state.book.charges.values()) == [1]
    assert (item["process_id"] is not None) == (version == "v3")


def test_a_lost_submit_answer_is_asked_about_never_sent_twice(world, api, clock, version):
    item_id = world.order()
    api.state.route_faults = {"submit": FaultPlan(script=[Fault(lost=True)])}
    world.follower.step()  # taken, then the connection cut
    item = world.store.item(item_id)
    assert item["order_state"] == "submitting" and item["submits_sent"] == 1
    _run(world, clock, ETA + 40)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    order_id = item["order_id"]
    assert api.state.book.charges[order_id] == 1 and api.state.book.requests[order_id] == 1
    assert not api.state.book.repeats
    (result,) = item["results"]
    assert hashlib.sha256(Path(result["path"]).read_bytes()).hexdigest() == result["sha256"]
    assert result["path"].endswith("front_day-to-dusk_1.jpg")


def test_a_submit_that_failed_is_sent_again_once_the_api_says_it_has_nothing(world, api, clock):
    """v1's order shows `status: idle` whatever happened: a 5xx'd submit is asked about (no
    images: not taken) and sent again, and charged once."""
    item_id = world.order()
    api.state.route_faults = {"submit": FaultPlan(script=[Fault(status=500)])}
    _run(world, clock, ETA + 60)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    assert api.state.book.charges[item["order_id"]] == 1 and sum(api.state.injected.values()) == 1


def test_failed_looks_still_wait_the_apis_gap(world, api, clock, version):
    """No Retry-After and no dropped connection makes the next look come sooner."""
    item_id = world.order()
    world.follower.step()
    route = "process" if version == "v3" else "order"
    faults = [Fault(status=429, retry_after="0"), Fault(drop=True), Fault(status=503, retry_after="0")]
    api.state.route_faults = {route: FaultPlan(script=faults * 2)}
    _run(world, clock, ETA + 120)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    looks = _looks(api, item)
    gaps = [b - a for a, b in zip(looks, looks[1:], strict=False)]
    assert len(looks) >= 7 and min(gaps) >= (5.0 if version == "v3" else 1.0)


def test_a_cut_download_resumes_and_the_file_is_whole(world, api, clock):
    item_id = world.order()
    api.state.route_faults = {"download": FaultPlan(script=[Fault(cut=True), Fault(cut=True)])}
    _run(world, clock, ETA + 10)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    (result,) = item["results"]
    served = api.state.book.result(result["src"].rsplit("/", 1)[1].removesuffix(".jpg"))
    assert Path(result["path"]).read_bytes() == served
    assert not list(world.settings.home.joinpath("results").glob(".*.part"))
    assert all(d["key"] is None for d in api.state.downloads)  # the key never goes with a download


def test_an_outage_never_fails_an_order_and_24_hours_without_result_does(world, api, clock):
    item_id = world.order()
    world.follower.step()
    api.state.unreachable_for(3600 * 5)  # (real seconds: the sandbox is away for this test)
    _run(world, clock, 3 * 3600, step=60)
    item = world.store.item(item_id)
    assert item["order_state"] == "processing" and "waiting" in item["order_error"]
    api.state.unreachable_for(0)
    api.state.book.processing_time = 10**9  # it never finishes
    _run(world, clock, 22 * 3600, step=300)
    item = world.store.item(item_id)
    assert item["order_state"] == "failed"
    assert "no result after 24 h" in item["order_error"] and "still working" in item["order_error"]


def test_the_api_failing_an_order_fails_it_with_the_reason(world, api, clock):
    item_id = world.order()
    api.state.route_faults = {"submit": FaultPlan(script=[Fault(fail_processing=True)])}
    _run(world, clock, ETA + 10)
    item = world.store.item(item_id)
    assert item["order_state"] == "failed" and "the API says the order failed" in item["order_error"]


def test_an_upload_only_order_is_never_submitted(world, api, clock):
    item_id = world.order(submit=False)
    _run(world, clock, 120)
    assert world.store.item(item_id)["order_state"] == "not_submitted"
    assert not api.state.book.charges


def test_staging_sends_its_space_and_style(world, api, clock):
    item_id = world.order("service-ai-virtual-staging", "Bedroom", {"Style": "Modern"})
    _run(world, clock, ETA + 10)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    assert item["selection"]["labels"]["Style"] == "Modern"


def test_the_submit_limit_holds_submits_back_and_fails_none(world, api, clock):
    """More orders than the API takes per window: the rest wait (none fails), no 429 comes."""
    world.follower.limit.limit = api.state.submit_limit = 3
    world.follower.limit.window = api.state.submit_window = 60.0
    ids = [world.order() for _ in range(7)]
    _run(world, clock, 200)
    items = [world.store.item(i) for i in ids]
    assert [i["order_state"] for i in items] == ["finished"] * 7, [i["order_error"] for i in items]
    starts = sorted(i["submitted_at"] for i in items)
    assert starts[3] - starts[0] >= 60 and starts[6] - starts[3] >= 60
    assert not api.state.book.counts().get("rate_limited")


def test_an_order_that_raises_waits_with_its_reason_and_never_stops_the_others(world, api, clock):
    stuck, behind = world.order(), world.order()
    with world.store.transaction() as db:  # a folder no file system takes (as a NUL in a name)
        db.execute("UPDATE items SET results_dir=? WHERE id=?", ("/tmp/a\x00b", stuck))
    _run(world, clock, ETA + 30)
    assert world.store.item(behind)["order_state"] == "finished"
    item = world.store.item(stuck)
    assert item["order_state"] == "processing" and "unexpected error (ValueError" in item["order_error"]
    assert item["order_next"] > clock.wall() + world.settings.poll_interval  # backing off, not each second
    _run(world, clock, world.settings.order_timeout, step=600)
    assert world.store.item(stuck)["order_state"] == "failed"  # after order_timeout, with the reason
    assert "unexpected error" in world.store.item(stuck)["order_error"]


def test_a_result_address_into_this_machine_fails_the_order_unfetched(world, api, clock):
    hits = []
    bystander = Flask("bystander")  # another local service, on another port of 127.0.0.1
    bystander.before_request(lambda: hits.append(request.path) or ("", 204))
    with BackgroundServer(bystander) as other:
        api.state.result_base = other.url + "/"
        item_id = world.order()
        _run(world, clock, ETA + 5)
    item = world.store.item(item_id)
    assert item["order_state"] == "failed" and "result 1 not fetched" in item["order_error"], item
    assert "on this machine or a private network" in item["order_error"] and hits == []


@pytest.mark.parametrize("version", ["v1"])  # the v3 sandbox's failed processes give no reason
def test_the_apis_reason_for_a_failed_order_is_stored_without_control_characters(
    world, api, clock, monkeypatch
):
    monkeypatch.setattr("bridge.sandbox.v1_book.FAILED_COMMENT", "\x1b]0;PWNED\x07\nforged\x9b1m")
    api.state.route_faults = {"submit": FaultPlan(script=[Fault(fail_processing=True)])}
    item_id = world.order()
    _run(world, clock, ETA + 5)
    error = world.store.item(item_id)["order_error"]
    assert error.endswith("the API says the order failed:  ]0;PWNED  forged 1m"), error


def test_an_unanswered_submit_is_sent_again_only_once_it_could_no_longer_arrive(world, api, clock, client):
    """The connection drops before the API took the submit: "not submitted" could still change
    while the request may be on its way, so the follower asks until the connect and read
    timeouts have passed since it left, then sends it once more."""
    item_id = world.order()
    api.state.route_faults = {"submit": FaultPlan(script=[Fault(drop=True)])}
    world.follower.step()
    left = clock.wall()
    window = client.connect_timeout + client.read_timeout
    _run(world, clock, window - 1)
    item = world.store.item(item_id)
    assert item["order_state"] == "submitting" and "may still reach the API" in item["order_error"]
    assert not api.state.book.requests.get(item["order_id"])  # dropped before the API took it
    _run(world, clock, 2 + ETA + 40)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished" and item["submitted_at"] >= left + window
    assert api.state.book.charges[item["order_id"]] == 1 and not api.state.book.repeats
