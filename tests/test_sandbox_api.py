"""The sandbox is the documented AI HomeDesign API (shared/api-reference.md), v3 and v1, over
real HTTP with plain `requests`: the envelope, the statuses, the checks and their messages, the
rate limit, the process and order states, and what it records for the client tests."""

from __future__ import annotations

import hashlib

import pytest
import requests

from bridge.photo.tools import tool_for
from bridge.sandbox import Fault, FaultPlan, SandboxState, create_sandbox_app, key_fingerprint
from bridge.web.background import BackgroundServer
from support import CANARY_KEY, ManualClock, jpeg_bytes

ETA = 20.0
KEY = {"x-api-key": CANARY_KEY}
CUT = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)  # a dropped answer
RATE_BODY = {"error": "rate-limit exceeded, 10 generates per 10 minutes only"}
STAGING = tool_for("tool-virtual-staging")
assert STAGING is not None


class Api:
    """A sandbox on a free port, its state, its clock, and `get`/`post` with the key."""

    def __init__(self, server: BackgroundServer, state: SandboxState, clock: ManualClock):
        self.url, self.state, self.clock = server.url, state, clock

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, headers=kw.pop("headers", KEY), timeout=5, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, headers=kw.pop("headers", KEY), timeout=5, **kw)


@pytest.fixture
def serve():
    servers = []

    def start(api: str = "v3", **kw) -> Api:
        clock = ManualClock()
        state = SandboxState(processing_time=ETA, clock=clock, api=api, **kw)
        server = BackgroundServer(create_sandbox_app(state)).start()
        servers.append(server)
        return Api(server, state, clock)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def v3(serve) -> Api:
    return serve("v3")


@pytest.fixture
def v1(serve) -> Api:
    return serve("v1")


PHOTO = jpeg_bytes(size=(160, 120), color=(150, 190, 230))


def upload_v3(
    api: Api, *roles: str, project_id: str | None = None, field="asset_file", role_field="asset_role"
):
    """POST /v3/order with one photo per role (one primary_angle if none), roles sent first."""
    roles = roles or ("primary_angle",)
    data = [(role_field, r) for r in roles] + ([("project_id", project_id)] if project_id else [])
    files = [(field, (f"photo-{n}.jpg", PHOTO, "image/jpeg")) for n in range(len(roles))]
    return api.post("/v3/order", data=data, files=files)


def staged(api: Api, order: dict, **extra) -> requests.Response:
    """POST /v3/process: virtual staging of the order's first asset, Bedroom, Modern."""
    body = {
        "order_id": order["order_id"],
        "tool": STAGING.slug,
        "asset_map": {STAGING.input_slot: order["assets"][0]["id"]},
        "widgets": [
            {
                "slug": STAGING.widget("space").slug,
                "item_slugs": [STAGING.widget("space").item_slug("bedroom")],
            },
            {
                "slug": STAGING.widget("style").slug,
                "item_slugs": [STAGING.widget("style").item_slug("Modern")],
            },
        ],
    }
    return api.post("/v3/process", json=body | extra)


def new_order(api: Api) -> dict:
    answer = upload_v3(api)
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]


def is_object_id(value) -> bool:
    return isinstance(value, str) and len(value) == 24 and all(c in "0123456789abcdef" for c in value)


# -- versions ---------------------------------------------------------------------------------


def test_each_sandbox_speaks_one_version_and_the_probe_tells_which(serve):
    v3, v1 = serve("v3"), serve("v1")
    assert SandboxState().api == "v3"
    assert v3.get("/v3/project", params={"page": 1, "limit": 1}).status_code == 200
    probe = v1.get("/v3/project", params={"page": 1, "limit": 1})
    assert probe.status_code == 404 and probe.json() == {"error": "not found"}
    refused = v3.post(
        "/v1/order/image", files={"image": ("a.jpg", PHOTO, "image/jpeg")}, data={"service_name": "x"}
    )
    assert refused.status_code == 404 and refused.json() == {"error": "not found"}
    assert v3.state.received == []
    with pytest.raises(ValueError, match="v3, v1"):
        SandboxState(api="v2")


def test_a_missing_or_refused_key_is_a_401_on_both(serve):
    for api, path in (("v3", "/v3/project"), ("v1", "/v1/catalog/spaces")):
        sandbox = serve(api)
        answer = sandbox.get(path, headers={})
        assert answer.status_code == 401 and answer.json()["key"] == "api_error_unauthorized"
    picky = serve("v3", accepted_keys={"other"})
    assert picky.get("/v3/project").status_code == 401
    assert upload_v3(picky).status_code == 401 and picky.state.received[-1]["status"] == 401


# -- v3: projects -----------------------------------------------------------------------------


def test_projects_are_made_found_listed_and_searched(v3):
    made = v3.post("/v3/project", json={"address": "12 Maple Street, Austin"})
    assert made.status_code == 201 and made.json()["message"] == "ok"
    project = made.json()["data"]
    assert is_object_id(project["id"]) and project["address"] == "12 Maple Street, Austin"
    assert {"cover_src", "input_count", "result_count", "bookmarked_count", "default", "updated_at"} <= set(
        project
    )
    assert v3.post("/v3/project", json={}).status_code == 400
    got = v3.get(f"/v3/project/{project['id']}")
    assert got.status_code == 200 and got.json()["data"] == project
    missing = v3.get("/v3/project/" + "0" * 24)
    assert missing.status_code == 404 and missing.json()["key"] == "api_error_project_not_found"
    for n in range(34):
        v3.post("/v3/project", json={"address": f"{n} Oak Road"})
    page = v3.get("/v3/project", params={"page": 1, "limit": 50}).json()
    assert len(page["data"]) == 30 and page["pagination"] == {"page": 1, "limit": 30, "total": 35}
    assert page["data"][0]["address"] == "33 Oak Road"  # newest first by default
    found = v3.get("/v3/project", params={"s": "maple"}).json()
    assert [p["id"] for p in found["data"]] == [project["id"]] and found["pagination"]["total"] == 1
    oldest = v3.get("/v3/project", params={"sort": "asc", "limit": 1}).json()["data"]
    assert oldest[0]["id"] == project["id"]
    assert v3.get("/v3/project", params={"sort": "sideways"}).status_code == 400


# -- v3: orders (the upload) -----------------------------------------------------------------------


def test_an_order_is_made_with_its_assets_and_recorded(v3):
    project = v3.post("/v3/project", json={"address": "1 Elm"}).json()["data"]
    answer = upload_v3(v3, "primary_angle", "secondary_angle", project_id=project["id"])
    assert answer.status_code == 201 and answer.json()["message"] == "ok"
    order = answer.json()["data"]
    assert order["order_id"].startswith("sandbox-") and is_object_id(
        order["order_id"].removeprefix("sandbox-")
    )
    assert [a["role"] for a in order["assets"]] == ["primary_angle", "secondary_angle"]
    assert all(is_object_id(a["id"]) for a in order["assets"])
    assert requests.get(order["assets"][0]["src"], timeout=5).headers["Content-Type"] == "image/jpeg"
    first, second = v3.state.orders()
    assert first["order_id"] == second["order_id"] == order["order_id"]
    assert (first["asset_id"], first["role"], first["project_id"]) == (
        order["assets"][0]["id"],
        "primary_angle",
        project["id"],
    )
    assert first["sha256"] == hashlib.sha256(PHOTO).hexdigest() and first["size"] == len(PHOTO)
    assert first["filename"] == "photo-0.jpg" and first["content_type"] == "image/jpeg"
    assert first["key"] == key_fingerprint(CANARY_KEY) and first["api"] == "v3" and first["status"] == 201
    assert v3.get(f"/v3/project/{project['id']}").json()["data"]["input_count"] == 2


def test_the_plural_field_names_are_taken_too_and_roles_default_to_primary(v3):
    for field, role_field in (("asset_files", "asset_roles"), ("asset_files[]", "asset_roles[]")):
        answer = upload_v3(v3, "primary_angle", field=field, role_field=role_field)
        assert answer.status_code == 201, answer.text
    files = {"asset_file": ("a.jpg", PHOTO, "image/jpeg")}
    bare = v3.post("/v3/order", files=files)  # no role, no project: the default project
    assert bare.json()["data"]["assets"][0]["role"] == "primary_angle"
    project_id = v3.state.orders()[-1]["project_id"]
    assert v3.get(f"/v3/project/{project_id}").json()["data"]["default"] is True


@pytest.mark.parametrize(
    "roles,words",
    [
        (("primary_angle", "primary_angle"), "exactly one primary_angle"),
        (("primary_angle", "secondary_angle", "secondary_angle"), "at most one secondary_angle"),
        (("primary_angle", "front"), "wrong asset role 'front'"),
    ],
)
def test_wrong_roles_are_400s(v3, roles, words):
    answer = upload_v3(v3, *roles)
    assert answer.status_code == 400 and words in answer.json()["error"]
    assert answer.json()["key"] == "api_error_wrong_asset_role"
    assert v3.state.orders() == [] and {r["status"] for r in v3.state.received} == {400}


def test_an_unknown_project_is_a_404_and_no_file_a_400(v3):
    answer = upload_v3(v3, project_id="f" * 24)
    assert answer.status_code == 404 and answer.json()["key"] == "api_error_project_not_found"
    empty = v3.post("/v3/order", data={"asset_role": "primary_angle"})
    assert empty.status_code == 400 and "no such file" in empty.json()["error"]
    assert v3.state.orders() == []


def test_a_lost_upload_made_the_order_and_the_connection_is_cut(v3):
    v3.state.faults = FaultPlan(script=[Fault(lost=True)])
    with pytest.raises(CUT):
        upload_v3(v3)
    assert len(v3.state.orders()) == 1 and v3.state.injected["upload lost"] == 1


# -- v3: processes ---------------------------------------------------------------------------------


def test_a_process_runs_pending_processing_done_and_polls_are_recorded(v3):
    order = new_order(v3)
    answer = staged(v3, order)
    assert answer.status_code == 201 and answer.json()["message"] == "ok"
    (process_id,) = answer.json()["data"]["process_ids"]
    assert is_object_id(process_id)
    seen = []
    for step in (0, ETA / 2, ETA / 2):
        v3.clock.advance(step)
        got = v3.get(f"/v3/process/{process_id}")
        assert got.status_code == 200
        seen.append(got.json()["data"]["status"])
        if seen[-1] != "done":
            assert v3.get(f"/v3/order/{order['order_id']}").json()["data"]["status"] == "active"
            assert got.json()["data"]["final_assets"] == []
    assert seen == ["pending", "processing", "done"]
    process = got.json()["data"]
    assert (process["id"], process["order_id"], process["tool"]) == (
        process_id,
        order["order_id"],
        STAGING.slug,
    )
    (result,) = process["final_assets"]
    assert is_object_id(result["asset_id"]) and result["asset_type"] == "image"
    for link in ("src", "temp_src", "thumbnail_src", "temp_thumbnail_src"):
        assert requests.get(result[link], timeout=5).status_code == 200, link
    assert (
        requests.get(result["src"], timeout=5).content == requests.get(result["temp_src"], timeout=5).content
    )
    assert v3.state.book.polls[process_id] == [1000.0, 1010.0, 1020.0]  # the test clock's times
    assert v3.state.book.counts() == {
        "charges": {order["order_id"]: 1},
        "requests": {order["order_id"]: 1},
        "repeats": {},
        "rate_limited": {},
    }
    assert all(d["key"] is None for d in v3.state.downloads) and len(v3.state.downloads) == 6
    details = v3.get(f"/v3/order/{order['order_id']}").json()["data"]
    assert details["status"] == "idle" and details["assets"][0]["id"] == order["assets"][0]["id"]
    assert details["processes"][0]["final_assets"] == [result]


def test_temp_links_only_and_results_from_another_host(v3):
    v3.state.temp_links_only = True
    v3.state.result_base = v3.url.replace("127.0.0.1", "localhost") + "/"
    order = new_order(v3)
    (process_id,) = staged(v3, order).json()["data"]["process_ids"]
    v3.clock.advance(ETA)
    (result,) = v3.get(f"/v3/process/{process_id}").json()["data"]["final_assets"]
    assert "src" not in result and "thumbnail_src" not in result
    assert result["temp_src"].startswith("http://localhost:")
    assert requests.get(result["temp_src"], timeout=5).status_code == 200
    assert v3.state.downloads[-1]["host"].startswith("localhost:")


def test_a_failed_process_has_no_final_assets(v3):
    v3.state.route_faults = {"submit": FaultPlan(script=[Fault(fail_processing=True)])}
    order = new_order(v3)
    (process_id,) = staged(v3, order).json()["data"]["process_ids"]
    v3.clock.advance(ETA)
    process = v3.get(f"/v3/process/{process_id}").json()["data"]
    assert process["status"] == "failed" and process["final_assets"] == []
    assert v3.state.book.charges[order["order_id"]] == 1  # taken, and charged


def test_a_faulted_poll_still_counts_as_a_poll(v3):
    order = new_order(v3)
    (process_id,) = staged(v3, order).json()["data"]["process_ids"]
    v3.state.route_faults = {"process": FaultPlan(script=[Fault(status=503, retry_after="1")])}
    assert v3.get(f"/v3/process/{process_id}").status_code == 503
    v3.clock.advance(5)
    assert v3.get(f"/v3/process/{process_id}").status_code == 200
    assert v3.state.book.polls[process_id] == [1000.0, 1005.0]


@pytest.mark.parametrize(
    "tool", ["tool-furniture-set-restyle", "tool-sky-change", "tool-teleport", "service-day-to-dusk"]
)
def test_an_unknown_or_retired_tool_is_a_raw_500(v3, tool):
    order = new_order(v3)
    answer = v3.post("/v3/process", json={"order_id": order["order_id"], "tool": tool, "asset_map": {}})
    assert answer.status_code == 500 and answer.text == "tool repository: tool not found"
    assert not v3.state.book.charges


def _widget(purpose: str, *values: str, tool=STAGING) -> dict:
    widget = tool.widget(purpose)
    return {"slug": widget.slug, "item_slugs": [widget.item_slug(v) for v in values]}


@pytest.mark.parametrize(
    "change,status,words",
    [
        ({"asset_map": {"tool-virtual-staging-input-mask": "x"}}, 422, "asset_map keys must be tool-virtual-staging-input-image"),
        ({"widgets": [_widget("space", "bedroom"), _widget("style", "modern"), {"slug": "widget-mood-tool-virtual-staging", "item_slugs": []}]}, 422, "widget widget-mood-tool-virtual-staging is not a widget of tool-virtual-staging"),
        ({"widgets": [_widget("space", "bedroom"), _widget("style", "baroque")]}, 422, "valid items: item-prime-widget-style-tool-virtual-staging, item-modern-"),
        ({"widgets": [_widget("space", "bedroom"), {"slug": "widget-style-tool-virtual-staging", "item_slugs": ["item-modern-widget-style-tool-interior-design"]}]}, 422, "does not belong to widget widget-style-tool-virtual-staging"),
        ({"widgets": [_widget("space", "bedroom"), _widget("style", "modern", "farmhouse")]}, 422, "takes one item, not 2"),
        ({"widgets": [_widget("style", "modern")]}, 422, "widget widget-space-tool-virtual-staging is required; valid items: item-bedroom-"),
        ({"widgets": "style"}, 400, "widgets must be a list"),
        ({"order_id": "0" * 24}, 404, "order not found"),
        ({"tool": None}, 400, "tool is required"),
    ],
)  # fmt: skip
def test_a_process_that_does_not_fit_its_tool_is_refused_with_why(v3, change, status, words):
    order = new_order(v3)
    answer = staged(v3, order, **change)
    assert answer.status_code == status and words in answer.json()["error"], answer.text
    assert answer.json()["key"].startswith("api_error_") and not v3.state.book.charges


def test_an_asset_of_another_order_is_a_404(v3):
    order, other = new_order(v3), new_order(v3)
    answer = staged(v3, order, asset_map={STAGING.input_slot: other["assets"][0]["id"]})
    assert answer.status_code == 404 and answer.json()["key"] == "api_error_asset_not_found"


def test_multi_select_optional_and_widgetless_tools(v3):
    enhance, removal = tool_for("tool-image-enhancement"), tool_for("tool-item-removal")
    order = new_order(v3)
    asset = order["assets"][0]["id"]
    body = {
        "order_id": order["order_id"],
        "tool": enhance.slug,
        "asset_map": {enhance.input_slot: asset},
        "widgets": [
            _widget("area", "outdoor", tool=enhance),
            _widget("enhancement-options", "add-fire-to-fireplace", "add-screen-to-tv", tool=enhance),
        ],
    }
    assert v3.post("/v3/process", json=body).status_code == 201
    bare = {"order_id": order["order_id"], "tool": removal.slug, "asset_map": {removal.input_slot: asset}}
    assert v3.post("/v3/process", json=bare).status_code == 201  # no widgets at all
    assert v3.post("/v3/process", json=bare | {"widgets": []}).status_code == 201
    dusk = tool_for("tool-day-to-dusk")
    sky_default = {"order_id": order["order_id"], "tool": dusk.slug, "asset_map": {dusk.input_slot: asset}}
    assert v3.post("/v3/process", json=sky_default).status_code == 201  # the live API's default sky
    counts = v3.state.book.counts()
    assert counts["charges"][order["order_id"]] == 4 and counts["repeats"][order["order_id"]] == 1


def test_a_second_process_of_a_tool_is_taken_charged_and_counted_as_a_repeat(v3):
    order = new_order(v3)
    assert staged(v3, order).status_code == 201
    assert staged(v3, order).status_code == 201  # the API takes it: a second charge
    counts = v3.state.book.counts()
    assert counts["charges"] == {order["order_id"]: 2} and counts["repeats"] == {order["order_id"]: 1}
    assert len(v3.get(f"/v3/order/{order['order_id']}").json()["data"]["processes"]) == 2


def test_a_lost_submit_is_taken_charged_and_the_connection_cut(v3):
    order = new_order(v3)
    charged = []
    v3.state.book.on_submit = charged.append
    v3.state.route_faults = {"submit": FaultPlan(script=[Fault(lost=True)])}
    with pytest.raises(CUT):
        staged(v3, order)
    assert charged == [order["order_id"]] and v3.state.book.charges[order["order_id"]] == 1
    assert len(v3.get(f"/v3/order/{order['order_id']}").json()["data"]["processes"]) == 1


@pytest.mark.parametrize(
    "route,path",
    [("project", "/v3/project"), ("order", "/v3/order/{order}"), ("process", "/v3/process/{process}")],
)
def test_faults_on_every_v3_route(v3, route, path):
    order = new_order(v3)
    (process_id,) = staged(v3, order).json()["data"]["process_ids"]
    v3.state.route_faults = {route: FaultPlan(script=[Fault(status=502, retry_after="3")])}
    answer = v3.get(path.format(order=order["order_id"], process=process_id))
    assert answer.status_code == 502 and answer.headers["Retry-After"] == "3"
    assert v3.get(path.format(order=order["order_id"], process=process_id)).status_code == 200
    assert v3.state.injected[f"{route} status"] == 1


# -- the rate limit, both versions ------------------------------------------------------------------


def test_v3_takes_10_submits_per_10_minutes_sliding_then_429_without_retry_after(v3):
    orders = [new_order(v3) for _ in range(12)]
    for order in orders[:10]:
        assert staged(v3, order).status_code == 201
        v3.clock.advance(30)  # the first at 1000, the tenth at 1270
    refused = staged(v3, orders[10])
    assert refused.status_code == 429 and refused.json() == RATE_BODY
    assert "Retry-After" not in refused.headers
    assert orders[10]["order_id"] not in v3.state.book.charges
    assert v3.state.book.counts()["rate_limited"] == {orders[10]["order_id"]: 1}
    v3.clock.advance(1600 - v3.clock.monotonic())  # the first slot frees at 1000 + 600
    assert staged(v3, orders[10]).status_code == 201
    assert staged(v3, orders[11]).status_code == 429  # only one had slid out
    other = {"x-api-key": "another-key"}  # the limit is per key
    assert v3.post("/v3/project", json={"address": "x"}, headers=other).status_code == 201


def test_the_limit_is_configurable(serve):
    api = serve("v3", submit_limit=2, submit_window=60)
    orders = [new_order(api) for _ in range(3)]
    assert [staged(api, o).status_code for o in orders] == [201, 201, 429]
    api.clock.advance(60)
    assert staged(api, orders[2]).status_code == 201
    api.state.submit_limit = 0
    assert staged(api, orders[0]).status_code == 429


# -- v1 as documented -------------------------------------------------------------------------------


def upload_v1(api: Api, service: str) -> str:
    files = {"image": ("front.jpg", PHOTO, "image/jpeg")}
    answer = api.post("/v1/order/image", files=files, data={"service_name": service})
    assert answer.status_code == 200 and set(answer.json()) == {"order_id"}, answer.text
    return answer.json()["order_id"]


def widget_v1(api: Api, service: str, title: str, *items: str, space: str = "") -> list[dict]:
    """selected_widgets entries for the items of a widget, by titles, read from the catalog."""
    params = {"service_name": service, "space_name": space}
    widget = next(
        w for w in api.get("/v1/catalog/items/filter", params=params).json()["data"] if w["title"] == title
    )
    by_title = {i["title"]: i["id"] for i in widget["items"]}
    return [{"id": widget["id"], "item_id": by_title[item]} for item in items]


def test_v1_upload_takes_the_five_services_only(v1):
    order_id = upload_v1(v1, "service-day-to-dusk")
    got = v1.state.orders()[-1]
    assert got["order_id"] == order_id and got["api"] == "v1" and got["service_name"] == "service-day-to-dusk"
    assert got["sha256"] == hashlib.sha256(PHOTO).hexdigest() and got["key"] == key_fingerprint(CANARY_KEY)
    files = {"image": ("a.jpg", PHOTO, "image/jpeg")}
    v3_only = v1.post("/v1/order/image", files=files, data={"service_name": "tool-wall-change"})
    assert v3_only.status_code == 400 and v3_only.json()["key"] == "api_error_invalid_service_name"
    no_file = v1.post("/v1/order/image", data={"service_name": "service-day-to-dusk"})
    assert no_file.status_code == 400 and no_file.json() == {"error": "http: no such file"}
    assert len(v1.state.orders()) == 1


def test_v1_catalog_has_the_documented_spaces_and_widgets(v1):
    staging = {"service_name": "service-ai-virtual-staging"}
    spaces = v1.get("/v1/catalog/spaces", params=staging).json()["data"]
    names = {s["name"]: s["title"] for s in spaces}
    assert names["space-bedroom"] == "Bedroom" and names["space-living-room"] == "Living Room"
    assert {"space-dining-room", "space-kitchen--", "space-bathroom--", "space-home-office"} <= set(names)
    assert v1.get("/v1/spaces", params=staging).json()["data"] == spaces  # the Kotlin client's path
    areas = v1.get("/v1/catalog/spaces", params={"service_name": "service-image-enhancement"}).json()["data"]
    assert [s["title"] for s in areas] == ["Indoor", "Outdoor"]
    assert v1.get("/v1/catalog/spaces", params={"service_name": "service-day-to-dusk"}).json()["data"] == []

    def widgets(service: str, space: str = "") -> dict:
        params = {"service_name": service, "space_name": space}
        return {w["title"]: w for w in v1.get("/v1/catalog/items/filter", params=params).json()["data"]}

    assert {
        t: w["is_optional"] for t, w in widgets("service-ai-virtual-staging", "space-bedroom").items()
    } == {"Style": False}
    assert {
        t: w["is_optional"] for t, w in widgets("service-creative-designer", "space-kitchen--").items()
    } == {
        "Style": False,
        "Color": True,
    }
    options = widgets("service-image-enhancement", "space-outdoor")["Enhancement Options"]
    assert options["is_optional"] and options["type"] == "multi-select"
    assert [i["title"] for i in options["items"]] == [
        "Add Fire to Fireplace",
        "Add Screen to TV",
        "Remove Extra Objects",
    ]
    sky = widgets("service-day-to-dusk")["Sky Style"]
    assert not sky["is_optional"]
    assert [i["title"] for i in sky["items"]] == [
        "Dusk with cloud",
        "Dusk without cloud",
        "Twilight with cloud",
    ]
    assert widgets("service-item-removal") == {}
    items = v1.get(f"/v1/catalog/widgets/{sky['id']}/items").json()["data"]
    assert [i["id"] for i in items] == [i["id"] for i in sky["items"]] and items[0]["widget_id"] == sky["id"]
    bad = v1.get(
        "/v1/catalog/items/filter", params={"service_name": "service-ai-virtual-staging", "space_name": "x"}
    )
    assert bad.status_code == 400 and bad.json()["key"] == "api_error_invalid_space_name"
    # Opaque ids: another sandbox has other ones, and `rotate` gives new ones.
    other = SandboxState(api="v1").book.catalog.widgets("service-day-to-dusk")
    assert other[0]["id"] != sky["id"]
    v1.state.book.catalog.rotate()
    assert widgets("service-day-to-dusk")["Sky Style"]["id"] != sky["id"]


@pytest.mark.parametrize(
    "service,body",
    [
        ("service-ai-virtual-staging", lambda a: {"space_name": "space-bedroom", "selected_widgets": widget_v1(a, "service-ai-virtual-staging", "Style", "Modern", space="space-bedroom")}),
        ("service-creative-designer", lambda a: {"space_name": "space-kitchen--", "selected_widgets": widget_v1(a, "service-creative-designer", "Style", "Farmhouse", space="space-kitchen--") + widget_v1(a, "service-creative-designer", "Color", "Warm Tones", space="space-kitchen--")}),
        ("service-image-enhancement", lambda a: {"space_name": "space-indoor", "selected_widgets": widget_v1(a, "service-image-enhancement", "Enhancement Options", "Add Fire to Fireplace", "Remove Extra Objects", space="space-indoor")}),
        ("service-image-enhancement", lambda a: {"space_name": "space-outdoor", "selected_widgets": []}),
        ("service-day-to-dusk", lambda a: {"remove_shadow": True, "selected_widgets": widget_v1(a, "service-day-to-dusk", "Sky Style", "Twilight with cloud")}),
        ("service-item-removal", lambda a: {}),
    ],
)  # fmt: skip
def test_v1_each_service_takes_its_documented_body(v1, service, body):
    order_id = upload_v1(v1, service)
    answer = v1.post("/v1/order", json={"order_id": order_id} | body(v1))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert set(got) == {"order_id", "image_id", "eta"} and got["order_id"] == order_id
    assert isinstance(got["eta"], int) and got["eta"] == ETA
    assert v1.state.book.counts()["charges"] == {order_id: 1}


@pytest.mark.parametrize(
    "service,body,key",
    [
        ("service-item-removal", {"space_name": ""}, "api_error_invalid_field"),
        ("service-item-removal", {"selected_widgets": []}, "api_error_invalid_field"),
        ("service-day-to-dusk", {"remove_shadow": False, "selected_widgets": []}, "api_error_widget_required"),
        ("service-day-to-dusk", {"selected_widgets": []}, "api_error_invalid_remove_shadow"),
        ("service-day-to-dusk", {"remove_shadow": "yes", "selected_widgets": []}, "api_error_invalid_remove_shadow"),
        ("service-day-to-dusk", {"space_name": "", "remove_shadow": True}, "api_error_invalid_field"),
        ("service-ai-virtual-staging", {"space_name": "space-bedroom", "selected_widgets": []}, "api_error_widget_required"),
        ("service-ai-virtual-staging", {"space_name": "space-indoor", "selected_widgets": []}, "api_error_invalid_space_name"),
        ("service-ai-virtual-staging", {"space_name": "space-bedroom", "remove_shadow": True}, "api_error_invalid_field"),
        ("service-image-enhancement", {"space_name": "space-bedroom"}, "api_error_invalid_space_name"),
        ("service-ai-virtual-staging", {"space_name": "space-bedroom", "selected_widgets": [{"id": "x", "item_id": "y"}]}, "api_error_invalid_widget"),
    ],
)  # fmt: skip
def test_v1_a_body_its_service_does_not_take_is_a_400(v1, service, body, key):
    order_id = upload_v1(v1, service)
    answer = v1.post("/v1/order", json={"order_id": order_id} | body)
    assert answer.status_code == 400 and answer.json()["key"] == key, answer.text
    assert not v1.state.book.charges


def test_v1_a_single_select_widget_takes_one_item(v1):
    order_id = upload_v1(v1, "service-ai-virtual-staging")
    two = widget_v1(v1, "service-ai-virtual-staging", "Style", "Modern", "Prime", space="space-bedroom")
    answer = v1.post(
        "/v1/order", json={"order_id": order_id, "space_name": "space-bedroom", "selected_widgets": two}
    )
    assert answer.status_code == 400 and "takes one item" in answer.json()["error"]


def test_v1_order_details_say_idle_always_and_the_images_tell_the_progress(v1):
    order_id = upload_v1(v1, "service-day-to-dusk")
    before = v1.get(f"/v1/order/{order_id}").json()
    assert before["status"] == "idle" and before["generated_images"] == []
    assert before["service"]["name"] == "service-day-to-dusk" and before["service"]["credit"] == 1
    assert {
        "id",
        "user_id",
        "email",
        "before_image_id",
        "before_image_src",
        "space",
        "service",
        "service_name",
        "created_at",
    } <= set(before)
    assert requests.get(before["before_image_src"], timeout=5).status_code == 200
    sky = widget_v1(v1, "service-day-to-dusk", "Sky Style", "Dusk with cloud")
    submitted = v1.post(
        "/v1/order", json={"order_id": order_id, "remove_shadow": True, "selected_widgets": sky}
    ).json()
    running = v1.get(f"/v1/order/{order_id}").json()
    assert running["status"] == "idle"
    (image,) = running["generated_images"]
    assert image["status"] == "processing" and image["src"] == "" and image["order_id"] == order_id
    v1.clock.advance(ETA)
    done = v1.get(f"/v1/order/{order_id}").json()
    assert done["status"] == "idle"  # beside a finished result, as the documented sample
    (image,) = done["generated_images"]
    assert image["status"] == "regular_finished" and image["shadow_removal"] is True
    assert image["sky_style"] == "Dusk with cloud" and image["id"] != submitted["image_id"]
    assert requests.get(image["src"], timeout=5).headers["Content-Type"] == "image/jpeg"
    assert v1.state.book.polls[order_id] == [1000.0, 1000.0, 1020.0]


def test_v1_a_failed_order_has_failed_images_with_a_comment(v1):
    v1.state.route_faults = {"submit": FaultPlan(script=[Fault(fail_processing=True)])}
    order_id = upload_v1(v1, "service-item-removal")
    assert v1.post("/v1/order", json={"order_id": order_id}).status_code == 200
    v1.clock.advance(ETA)
    details = v1.get(f"/v1/order/{order_id}").json()
    (image,) = details["generated_images"]
    assert (
        details["status"] == "idle"
        and image["status"] == "failed"
        and image["src"] == ""
        and image["comment"]
    )


def test_v1_a_second_submit_is_refused_and_counted_an_unknown_order_is_a_404(v1):
    order_id = upload_v1(v1, "service-item-removal")
    assert v1.post("/v1/order", json={"order_id": order_id}).status_code == 200
    again = v1.post("/v1/order", json={"order_id": order_id})
    assert again.status_code == 400 and again.json()["key"] == "api_error_order_already_submitted"
    assert v1.state.book.counts() == {
        "charges": {order_id: 1},
        "requests": {order_id: 2},
        "repeats": {order_id: 1},
        "rate_limited": {},
    }
    for answer in (v1.post("/v1/order", json={"order_id": "nope"}), v1.get("/v1/order/nope")):
        assert answer.status_code == 404
        assert answer.json() == {"error": "order not found", "key": "api_error_order_not_found"}


def test_v1_takes_10_submits_per_10_minutes_then_429_without_retry_after(v1):
    orders = [upload_v1(v1, "service-item-removal") for _ in range(11)]
    for order_id in orders[:10]:
        assert v1.post("/v1/order", json={"order_id": order_id}).status_code == 200
    refused = v1.post("/v1/order", json={"order_id": orders[10]})
    assert refused.status_code == 429 and refused.json() == RATE_BODY and "Retry-After" not in refused.headers
    assert v1.state.book.counts()["rate_limited"] == {orders[10]: 1}
    v1.clock.advance(600)
    assert v1.post("/v1/order", json={"order_id": orders[10]}).status_code == 200


@pytest.mark.parametrize(
    "route,method,path",
    [
        ("catalog", "get", "/v1/catalog/spaces"),
        ("submit", "post", "/v1/order"),
        ("order", "get", "/v1/order/{order}"),
    ],
)
def test_faults_on_every_v1_route(v1, route, method, path):
    order_id = upload_v1(v1, "service-item-removal")
    v1.state.route_faults = {route: FaultPlan(script=[Fault(status=503, retry_after="2")])}
    call = getattr(v1, method)
    answer = call(
        path.format(order=order_id), **({"json": {"order_id": order_id}} if method == "post" else {})
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert v1.state.injected[f"{route} status"] == 1


def test_the_sandbox_command_takes_the_version():
    from click.testing import CliRunner

    from bridge.cli import main

    shown = CliRunner().invoke(main, ["sandbox", "--help"])
    assert shown.exit_code == 0 and "--api [v3|v1]" in shown.output and "default: v3" in shown.output
    assert CliRunner().invoke(main, ["sandbox", "--api", "v2"]).exit_code != 0
