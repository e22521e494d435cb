"""The order lifecycle piece by piece: the sandbox's v1 catalog, submits and results over real
HTTP, and people's words for spaces and widgets resolved against each version's catalog. The
follower that drives it is in test_order_follower.py."""

import io

import pytest
import requests

from bridge.photo.formats import UploadFile
from bridge.remote.catalog import Catalog, NotOffered
from bridge.sandbox import SandboxState, create_sandbox_app
from bridge.web.background import BackgroundServer
from support import ManualClock, jpeg_bytes, remote_api

ETA = 30.0


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def api(clock):
    """A sandbox whose orders take ETA seconds of the test's clock."""
    state = SandboxState(processing_time=ETA, clock=clock, api="v1")
    with BackgroundServer(create_sandbox_app(state)) as server:
        server.state = state
        yield server


@pytest.fixture
def remote(api):
    r = remote_api(api.url, read_timeout=5)
    yield r
    r.close()


@pytest.fixture
def client(remote):
    return remote.client


# -- the sandbox ------------------------------------------------------------------------------


def test_the_sandbox_catalog_has_spaces_mandatory_widgets_and_ids_of_its_own(api, client):
    other = SandboxState()
    spaces = client.call("GET", "/v1/catalog/spaces", params={"service_name": "service-ai-virtual-staging"})
    assert {"Bedroom", "Living Room"} <= {s["title"] for s in spaces["data"]}
    assert (
        client.call("GET", "/v1/catalog/spaces", params={"service_name": "service-day-to-dusk"})["data"] == []
    )
    widgets = client.call(
        "GET",
        "/v1/catalog/items/filter",
        params={"service_name": "service-ai-virtual-staging", "space_name": "space-bedroom"},
    )["data"]
    style = next(w for w in widgets if w["title"] == "Style")
    assert style["is_optional"] is False and [w["title"] for w in widgets] == ["Style"]  # as documented
    items = client.call("GET", f"/v1/catalog/widgets/{style['id']}/items")["data"]
    assert [i["title"] for i in items] == [i["title"] for i in style["items"]]
    # Opaque ids: another sandbox has other ones, so no client can have them written in.
    theirs = other.book.catalog.widgets("service-ai-virtual-staging")
    assert {w["id"] for w in theirs}.isdisjoint({w["id"] for w in widgets})


def test_a_submit_is_checked_counted_and_makes_results_that_differ(api, remote, client, clock, tmp_path):
    photo = tmp_path / "room.jpg"
    photo.write_bytes(jpeg_bytes(size=(200, 150), color=(200, 200, 200)))
    order_id = remote.upload(
        UploadFile(photo, photo.name, "image/jpeg"), "service-ai-virtual-staging"
    ).order_id
    for payload, key in (
        ({"order_id": order_id, "space_name": "", "selected_widgets": []}, "api_error_invalid_space_name"),
        (
            {"order_id": order_id, "space_name": "space-bedroom", "selected_widgets": []},
            "api_error_widget_required",
        ),
        (
            {
                "order_id": order_id,
                "space_name": "space-bedroom",
                "selected_widgets": [{"id": "x", "item_id": "y"}],
            },
            "api_error_invalid_widget",
        ),
    ):
        resp = requests.post(api.url + "/v1/order", json=payload, headers={"x-api-key": "k"}, timeout=5)
        assert resp.status_code == 400 and resp.json()["key"] == key, resp.text
    selection = Catalog(lambda: remote).resolve("service-ai-virtual-staging", "Bedroom", {"Style": "Modern"})
    payload = {"order_id": order_id, "space_name": "space-bedroom", "selected_widgets": selection.selected}
    answer = client.call("POST", "/v1/order", payload=payload)
    assert answer["order_id"] == order_id and answer["eta"] == ETA
    again = requests.post(api.url + "/v1/order", json=payload, headers={"x-api-key": "k"}, timeout=5)
    assert again.json()["key"] == "api_error_order_already_submitted"
    assert api.state.book.charges[order_id] == 1 and api.state.book.requests[order_id] == 5
    assert client.call("GET", f"/v1/order/{order_id}")["generated_images"][0]["status"] == "processing"
    clock.advance(ETA)
    done = client.call("GET", f"/v1/order/{order_id}")
    assert done["status"] == "idle" and done["space"] == "space-bedroom"  # idle always, as documented
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


def test_a_dusk_result_is_darker_than_the_photo(api, remote, client, clock, tmp_path):
    from PIL import Image, ImageStat

    photo = tmp_path / "front.jpg"
    photo.write_bytes(jpeg_bytes(size=(200, 150), color=(150, 190, 230)))
    order_id = remote.upload(UploadFile(photo, photo.name, "image/jpeg"), "service-day-to-dusk").order_id
    selection = Catalog(lambda: remote).resolve("service-day-to-dusk", None, {"Sky Style": "Dusk with cloud"})
    payload = {"order_id": order_id, "remove_shadow": False, "selected_widgets": selection.selected}
    client.call("POST", "/v1/order", payload=payload)
    clock.advance(ETA)
    src = client.call("GET", f"/v1/order/{order_id}")["generated_images"][0]["src"]
    dusk = Image.open(io.BytesIO(requests.get(src, timeout=5).content)).convert("L")
    assert ImageStat.Stat(dusk).mean[0] < ImageStat.Stat(Image.open(photo).convert("L")).mean[0] * 0.8


# -- resolving the user's words ----------------------------------------------------------------


def test_titles_names_and_ids_resolve_and_what_is_missing_lists_the_choices(remote):
    catalog = Catalog(lambda: remote)
    chosen = catalog.resolve("service-ai-virtual-staging", "bedroom", {"style": "modern"})
    assert chosen.space_name == "space-bedroom" and chosen.labels == {"Style": "Modern"}
    by_id = catalog.resolve(
        "service-ai-virtual-staging", "space-bedroom", {chosen.selected[0]["id"]: "Modern"}
    )
    assert by_id == chosen
    with pytest.raises(NotOffered, match=r"^Style 'Baroque' is not offered; choose Modern, Scandinavian, "):
        catalog.resolve("service-ai-virtual-staging", "Bedroom", {"Style": "Baroque"})
    with pytest.raises(NotOffered, match="needs a space; choose Bedroom, Living Room"):
        catalog.resolve("service-ai-virtual-staging", None, {"Style": "Modern"})
    with pytest.raises(NotOffered, match="needs a Style; choose Modern"):
        catalog.resolve("service-ai-virtual-staging", "Kitchen", {})
    with pytest.raises(NotOffered, match="no widget 'Mood'; choose Sky Style"):
        catalog.resolve("service-day-to-dusk", None, {"Mood": "Calm", "Sky Style": "Dusk with cloud"})
    with pytest.raises(NotOffered, match="needs a Sky Style; choose Dusk with cloud"):
        catalog.resolve("service-day-to-dusk", None, None)
    assert catalog.resolve("service-item-removal", None, None).selected == []


def test_image_enhancement_takes_an_area_and_several_options_on_v1(remote):
    chosen = Catalog(lambda: remote).resolve(
        "service-image-enhancement",
        "Outdoor",
        {"Enhancement Options": "Add Fire to Fireplace, Add Screen to TV"},
    )
    assert chosen.space_title == "Outdoor" and len(chosen.selected) == 2
    assert chosen.labels == {"Enhancement Options": "Add Fire to Fireplace, Add Screen to TV"}


def test_day_to_dusk_asks_shadows_away_on_either_version(remote):
    catalog = Catalog(lambda: remote)
    sky = {"Sky Style": "Dusk with cloud"}
    assert catalog.resolve("service-day-to-dusk", None, sky | {"Remove shadow": "yes"}).options == {
        "remove_shadow": True
    }
    assert catalog.resolve("service-day-to-dusk", None, sky | {"Options": "Shadow removal"}).options == {
        "remove_shadow": True
    }
    assert catalog.resolve("service-day-to-dusk", None, sky).options == {"remove_shadow": False}


def test_v3_titles_become_slugs_and_unknown_values_are_built_by_the_pattern():
    v3 = Catalog(lambda: remote_api("http://127.0.0.1:9", version="v3"))  # the file, no request
    chosen = v3.resolve("service-ai-virtual-staging", "Living room", {"Style": "Modern"})
    assert chosen.selected == [
        {
            "slug": "widget-space-tool-virtual-staging",
            "item_slugs": ["item-living-room-widget-space-tool-virtual-staging"],
        },
        {
            "slug": "widget-style-tool-virtual-staging",
            "item_slugs": ["item-modern-widget-style-tool-virtual-staging"],
        },
    ]
    assert chosen.space_title == "Living room" and chosen.labels == {"Style": "Modern"}
    odd = v3.resolve("service-ai-virtual-staging", "Wine cellar", {"Style": "Art deco"})
    assert odd.selected[0]["item_slugs"] == ["item-wine-cellar-widget-space-tool-virtual-staging"]
    assert odd.selected[1]["item_slugs"] == ["item-art-deco-widget-style-tool-virtual-staging"]
    options = v3.resolve(
        "service-image-enhancement",
        "Indoor",
        {"Enhancement options": "Add fire to fireplace, Add screen to TV"},
    )
    assert options.selected[1]["item_slugs"] == [
        "item-add-fire-to-fireplace-widget-enhancement-options-tool-image-enhancement",
        "item-add-screen-to-tv-widget-enhancement-options-tool-image-enhancement",
    ]
    with pytest.raises(NotOffered, match="Style takes one value, not 2"):
        v3.resolve("service-ai-virtual-staging", "Bedroom", {"Style": "Modern, Prime"})
    with pytest.raises(NotOffered, match="needs a Style; choose Prime, Modern"):
        v3.resolve("service-ai-virtual-staging", "Bedroom", {})
    with pytest.raises(NotOffered, match="needs a space; choose Bedroom, Living room"):
        v3.resolve("service-ai-virtual-staging", None, {"Style": "Modern"})
    assert v3.resolve("service-day-to-dusk", None, None).selected == []  # the API's default sky
    assert v3.resolve("tool-wall-change", "Kitchen", None).selected[0]["item_slugs"] == [
        "item-kitchen-widget-space-tool-wall-change"
    ]
