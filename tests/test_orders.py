"""The order lifecycle piece by piece: the sandbox's catalog, submits and results over real
HTTP, and the order follower on a clock of its own (hours of waiting without waiting)."""

import hashlib
import io

import pytest
import requests
from flask import Flask, request

from bridge.config import Settings
from bridge.formats import UploadFile
from bridge.queue.orders import OrderFollower
from bridge.queue.store import NewItem, Store
from bridge.remote.background import BackgroundServer
from bridge.remote.backoff import Backoff
from bridge.remote.catalog import Catalog, NotOffered
from bridge.remote.client import ApiClient
from bridge.remote.health import RemoteHealth
from bridge.remote.sandbox import Fault, FaultPlan, SandboxState, create_sandbox_app
from support import CANARY_KEY, ManualClock, jpeg_bytes

ETA = 30.0


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def api(clock):
    """A sandbox whose orders take ETA seconds of the test's clock."""
    state = SandboxState(processing_time=ETA, clock=clock)
    with BackgroundServer(create_sandbox_app(state)) as server:
        server.state = state
        yield server


@pytest.fixture
def client(api):
    c = ApiClient(api.url + "/v1/order/image", CANARY_KEY, read_timeout=5)
    yield c
    c.close()


@pytest.fixture
def world(tmp_path, api, client, clock):
    """A store, a follower and `order(...)`: an item uploaded to the sandbox, ready to submit."""
    store = Store(tmp_path / "bridge.sqlite3", clock)
    settings = Settings(home=tmp_path, poll_interval=5.0, order_timeout=86400.0)
    catalog = Catalog(lambda: client, clock)
    health = RemoteHealth(Backoff(base=0.01, probe_cap=60), clock)
    follower = OrderFollower(store, lambda: client, catalog, health, settings, clock)
    photo = tmp_path / "front.jpg"
    photo.write_bytes(jpeg_bytes(size=(160, 120), color=(120, 170, 220)))

    def order(service="service-day-to-dusk", space=None, widgets=None, submit=True) -> str:
        order_id = client.upload(UploadFile(photo, photo.name, "image/jpeg"), service)
        selection = catalog.resolve(service, space, widgets).as_dict() if submit else None
        item = NewItem(
            str(photo), "src", spool_path=str(photo), filename=photo.name, size=1, format="JPEG",
            service_name=service, submit=submit, selection=selection,
            order_request={"space": space, "widgets": widgets or {}},
        )  # fmt: skip
        store.add_batch([item])
        claimed = store.claim_next()
        store.mark_done(claimed["id"], order_id, fingerprint="f", sha256=None)
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


# -- the sandbox ------------------------------------------------------------------------------


def test_the_sandbox_catalog_has_spaces_mandatory_widgets_and_ids_of_its_own(api, client):
    other = SandboxState()
    spaces = client.call("GET", "/v1/catalog/spaces", params={"service_name": "service-ai-virtual-staging"})
    assert {"Bedroom", "Living room"} <= {s["title"] for s in spaces["data"]}
    assert (
        client.call("GET", "/v1/catalog/spaces", params={"service_name": "service-day-to-dusk"})["data"] == []
    )
    widgets = client.call(
        "GET",
        "/v1/catalog/items/filter",
        params={"service_name": "service-ai-virtual-staging", "space_name": "space-bedroom"},
    )["data"]
    style = next(w for w in widgets if w["title"] == "Style")
    assert style["is_optional"] is False and any(w["is_optional"] for w in widgets)
    items = client.call("GET", f"/v1/catalog/widgets/{style['id']}/items")["data"]
    assert [i["title"] for i in items] == [i["title"] for i in style["items"]]
    # Opaque ids: another sandbox has other ones, so no client can have them written in.
    theirs = other.book.catalog.widgets("service-ai-virtual-staging")
    assert {w["id"] for w in theirs}.isdisjoint({w["id"] for w in widgets})


def test_a_submit_is_checked_counted_and_makes_results_that_differ(api, client, clock, tmp_path):
    photo = tmp_path / "room.jpg"
    photo.write_bytes(jpeg_bytes(size=(200, 150), color=(200, 200, 200)))
    order_id = client.upload(UploadFile(photo, photo.name, "image/jpeg"), "service-ai-virtual-staging")
    for payload, key in (
        ({"order_id": order_id, "space_name": "", "selected_widgets": []}, "invalid_space_name"),
        ({"order_id": order_id, "space_name": "space-bedroom", "selected_widgets": []}, "widget_required"),
        (
            {
                "order_id": order_id,
                "space_name": "space-bedroom",
                "selected_widgets": [{"id": "x", "item_id": "y"}],
            },
            "invalid_widget",
        ),
    ):
        resp = requests.post(api.url + "/v1/order", json=payload, headers={"x-api-key": "k"}, timeout=5)
        assert resp.status_code == 400 and resp.json()["key"] == key, resp.text
    selection = Catalog(lambda: client).resolve("service-ai-virtual-staging", "Bedroom", {"Style": "Modern"})
    payload = {"order_id": order_id, "space_name": "space-bedroom", "selected_widgets": selection.selected}
    answer = client.call("POST", "/v1/order", payload=payload)
    assert answer["order_id"] == order_id and answer["eta"] == ETA
    again = requests.post(api.url + "/v1/order", json=payload, headers={"x-api-key": "k"}, timeout=5)
    assert again.json()["key"] == "order_already_submitted"
    assert api.state.book.charges[order_id] == 1 and api.state.book.requests[order_id] == 5
    assert client.call("GET", f"/v1/order/{order_id}")["status"] == "processing"
    clock.advance(ETA)
    done = client.call("GET", f"/v1/order/{order_id}")
    assert done["status"] == "finished" and done["space"] == "space-bedroom"
    (image,) = done["generated_images"]
    assert image["status"] == "regular_finished" and image["src"].startswith(api.url + "/results/")
    result = requests.get(image["src"], timeout=5)  # served by the sandbox, without the key
    assert result.headers["Content-Type"] == "image/jpeg"
    from PIL import Image, ImageChops

    before = Image.open(photo).convert("RGB")
    after = Image.open(io.BytesIO(result.content)).convert("RGB").resize(before.size)
    assert ImageChops.difference(before, after).getbbox() is not None  # visibly staged
    tail = requests.get(image["src"], headers={"Range": "bytes=100-"}, timeout=5)
    assert tail.status_code == 206 and tail.content == result.content[100:]


def test_a_dusk_result_is_darker_than_the_photo(api, client, clock, tmp_path):
    from PIL import Image, ImageStat

    photo = tmp_path / "front.jpg"
    photo.write_bytes(jpeg_bytes(size=(200, 150), color=(150, 190, 230)))
    order_id = client.upload(UploadFile(photo, photo.name, "image/jpeg"), "service-day-to-dusk")
    client.call("POST", "/v1/order", payload={"order_id": order_id, "space_name": "", "selected_widgets": []})
    clock.advance(ETA)
    src = client.call("GET", f"/v1/order/{order_id}")["generated_images"][0]["src"]
    dusk = Image.open(io.BytesIO(requests.get(src, timeout=5).content)).convert("L")
    assert ImageStat.Stat(dusk).mean[0] < ImageStat.Stat(Image.open(photo).convert("L")).mean[0] * 0.8


# -- resolving the user's words ----------------------------------------------------------------


def test_titles_names_and_ids_resolve_and_what_is_missing_lists_the_choices(client):
    catalog = Catalog(lambda: client)
    chosen = catalog.resolve("service-ai-virtual-staging", "bedroom", {"style": "modern"})
    assert chosen.space_name == "space-bedroom" and chosen.labels == {"Style": "Modern"}
    by_id = catalog.resolve(
        "service-ai-virtual-staging", "space-bedroom", {chosen.selected[0]["id"]: "Modern"}
    )
    assert by_id == chosen
    with pytest.raises(NotOffered, match=r"^Style 'Baroque' is not offered; choose Modern, Scandinavian, "):
        catalog.resolve("service-ai-virtual-staging", "Bedroom", {"Style": "Baroque"})
    with pytest.raises(NotOffered, match="needs a space; choose Living room, Bedroom"):
        catalog.resolve("service-ai-virtual-staging", None, {"Style": "Modern"})
    with pytest.raises(NotOffered, match="needs a Style; choose Modern"):
        catalog.resolve("service-ai-virtual-staging", "Kitchen", {})
    with pytest.raises(NotOffered, match="no widget 'Mood'; choose Sky, Window lights"):
        catalog.resolve("service-day-to-dusk", None, {"Mood": "Calm"})
    assert catalog.resolve("service-day-to-dusk", None, None).selected == []


# -- the follower ---------------------------------------------------------------------------


def test_submitted_once_first_look_after_eta_then_gently(world, api, clock):
    item_id = world.order()
    looks = []
    original = api.state.book.status

    def counted(order_id, base):
        looks.append(clock.monotonic())
        return original(order_id, base)

    api.state.book.status = counted
    world.follower.step()  # the submit
    item = world.store.item(item_id)
    assert item["order_state"] == "processing" and item["eta"] == pytest.approx(clock.wall() + ETA)
    start = clock.monotonic()
    _run(world, clock, ETA - 1)
    assert looks == []  # nothing asked before the eta
    api.state.book.processing_time = ETA + 40  # it takes longer than announced
    _run(world, clock, 60)
    gaps = [b - a for a, b in zip(looks, looks[1:], strict=False)]
    assert looks[0] - start >= ETA and gaps and min(gaps) >= world.settings.poll_interval
    assert gaps == sorted(gaps)  # backing off
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    assert list(api.state.book.charges.values()) == [1]


def test_a_lost_submit_answer_is_asked_about_never_sent_twice(world, api, clock, tmp_path):
    item_id = world.order()
    api.state.route_faults = {"submit": FaultPlan(script=[Fault(lost=True)])}
    world.follower.step()  # taken, then the connection cut
    item = world.store.item(item_id)
    assert item["order_state"] == "submitting" and item["submits_sent"] == 1
    _run(world, clock, ETA + 20)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    order_id = item["order_id"]
    assert api.state.book.charges[order_id] == 1 and api.state.book.requests[order_id] == 1
    assert not api.state.book.repeats
    (result,) = item["results"]
    assert hashlib.sha256(open(result["path"], "rb").read()).hexdigest() == result["sha256"]
    assert result["path"].endswith("front_day-to-dusk_1.jpg")


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
    assert api.state.book.requests[item["order_id"]] == 0  # dropped before the API took it
    _run(world, clock, 2 + ETA + 10)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished" and item["submitted_at"] >= left + window
    assert api.state.book.charges[item["order_id"]] == 1 and not api.state.book.repeats


def test_a_cut_download_resumes_and_the_file_is_whole(world, api, clock):
    item_id = world.order()
    api.state.route_faults = {"download": FaultPlan(script=[Fault(cut=True), Fault(cut=True)])}
    _run(world, clock, ETA + 10)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    (result,) = item["results"]
    served = api.state.book.result(result["src"].rsplit("/", 1)[1].removesuffix(".jpg"))
    assert open(result["path"], "rb").read() == served
    assert not list(world.settings.home.joinpath("results").glob(".*.part"))


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
    assert "no result after 24 h" in item["order_error"] and "still says 'processing'" in item["order_error"]


def test_ids_the_api_no_longer_knows_are_read_again_and_submitted_once(world, api, clock):
    item_id = world.order("service-ai-virtual-staging", "Bedroom", {"Style": "Coastal"})
    api.state.book.catalog.rotate()  # every id changes: the cached ones are now unknown
    _run(world, clock, ETA + 10)
    item = world.store.item(item_id)
    assert item["order_state"] == "finished", item["order_error"]
    assert item["selection"]["labels"] == {"Style": "Coastal"}
    assert api.state.book.charges[item["order_id"]] == 1


def test_the_api_failing_an_order_fails_it_with_the_reason(world, api, clock):
    item_id = world.order()
    api.state.route_faults = {"submit": FaultPlan(script=[Fault(fail_processing=True)])}
    _run(world, clock, ETA + 5)
    item = world.store.item(item_id)
    assert item["order_state"] == "failed" and "could not be processed" in item["order_error"]


def test_a_result_address_into_this_machine_fails_the_order_unfetched(world, api, clock):
    hits = []
    bystander = Flask("bystander")  # another local service, on another port of 127.0.0.1
    bystander.before_request(lambda: hits.append(request.path) or ("", 204))
    with BackgroundServer(bystander) as other:
        original = api.state.book.status

        def elsewhere(order_id, base):
            answer = original(order_id, base)
            for image in answer.get("generated_images") or []:
                if image.get("src"):
                    image["src"] = image["src"].replace(api.url, other.url)
            return answer

        api.state.book.status = elsewhere
        item_id = world.order()
        _run(world, clock, ETA + 5)
    item = world.store.item(item_id)
    assert item["order_state"] == "failed" and "result 1 not fetched" in item["order_error"], item
    assert "on this machine or a private network" in item["order_error"] and hits == []


def test_the_apis_reason_for_a_failed_order_is_stored_without_control_characters(world, api, clock):
    original = api.state.book.status

    def hostile(order_id, base):
        return original(order_id, base) | {"status": "failed", "error": "\x1b]0;PWNED\x07\nforged\x9b1m"}

    api.state.book.status = hostile
    item_id = world.order()
    _run(world, clock, ETA + 5)
    error = world.store.item(item_id)["order_error"]
    assert error.endswith("the API says the order failed:  ]0;PWNED  forged 1m"), error


def test_an_upload_only_order_is_never_submitted(world, api, clock):
    item_id = world.order(submit=False)
    _run(world, clock, 120)
    assert world.store.item(item_id)["order_state"] == "not_submitted"
    assert not api.state.book.charges
