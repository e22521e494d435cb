"""The Lightroom plugin's side of the order lifecycle, its real files under lua5.1 with the strict
fake SDK against a real bridge in sandbox mode: submit, space and widget menus from the bridge's
catalog, and results imported into the catalog stacked above their sources."""

import json
import re
from pathlib import Path

import pytest
from test_plugin import lua, photo_specs, run  # noqa: F401 (lua: a fixture)

from bridge.sandbox import Fault, FaultPlan
from support import wait_until

# The documented v1 catalog, as the `sandbox` fixture serves it.
STYLES = [
    "Modern",
    "Scandinavian",
    "Farmhouse",
    "Industrial",
    "Traditional",
    "Contemporary",
    "Hampton",
    "Prime",
]
# Day to dusk submitted, with the sky the v1 catalog needs.
DUSK = {"service": "service-day-to-dusk", "submit": True, "widgets": {"Sky Style": "Dusk with cloud"}}
SPACES = ["Bedroom", "Living Room", "Dining Room", "Kitchen", "Bathroom", "Home Office"]


def _by_path(outcome) -> dict:
    return {p["path"]: p for p in outcome["photos"]}


def _results_of(outcome, sources) -> dict:
    """Each source photo's path -> the photos stacked above it (the results), by their ids."""
    photos = {p["id"]: p for p in outcome["photos"]}
    found = {}
    for spec in sources:
        source = next(p for p in outcome["photos"] if p["id"] == spec["id"])
        stack = source["stack"] or [source["id"]]
        found[spec["path"]] = [photos[i] for i in stack[: stack.index(source["id"])]]
    return found


def _staging_dialog(lua, tmp_path, env, **scenario) -> dict:  # noqa: F811
    """The export dialog opened with a virtual staging preset that submits."""
    base = {"action": "dialog", "service": "service-ai-virtual-staging", "submit": True}
    return run(lua, tmp_path, base | scenario, env)


def _staging_export(specs) -> dict:
    """An export of `specs` with virtual staging, submitted, a space and a style chosen."""
    return {
        "photos": specs,
        "service": "service-ai-virtual-staging",
        "submit": True,
        "choose": [["space", "Bedroom"], ["Style", "Modern"]],
        "prefs": {"followInterval": 1},
    }


def test_dialog_menus_come_from_the_catalog_and_wait_for_a_mandatory_widget(
    lua,  # noqa: F811
    make_jpeg,
    sandbox,
    start_bridge,
    tmp_path,
):
    bridge = start_bridge(sandbox.url)
    outcome = _staging_dialog(
        lua,
        tmp_path,
        bridge.env,
        widgets={"Colour palette": "Warm"},  # kept from another service: not sent with this one
        choose=[
            ["space", "Bedroom"],
            ["Style", "Modern"],
            ["submit", False],
            ["service", "service-day-to-dusk"],
            ["Sky Style", "Twilight with cloud"],
            ["service", "service-ai-virtual-staging"],
        ],
    )
    dialog = outcome["dialog"]
    # The catalog is read in a task of its own: the dialog opened without waiting for it.
    assert outcome["dialog_at_start"] == "Looking for the AI HomeDesign bridge..." and dialog["status"]
    start = dialog["order"]
    assert start["space_items"][: len(SPACES) + 1] == ["Choose a space...", *SPACES]
    assert [s["title"] for s in start["slots"]] == ["Style (required):"]
    assert start["slots"][0]["items"] == ["Choose...", *STYLES]
    assert start["cant_export"].startswith("Choose a space for Virtual staging")
    assert json.loads(start["widgets"] or "{}") == {}
    space, style, unticked, dusk, sky, back = dialog["steps"]
    assert space["space"] == "Bedroom" and space["cant_export"].startswith(
        "Choose a Style: Virtual staging needs"
    )
    assert style["cant_export"] is None and json.loads(style["widgets"]) == {"Style": "Modern"}
    assert "uses credits" in style["note"]
    assert unticked["cant_export"] is None and unticked["submit"] is False
    # Another service: its own widgets, no space, nothing of the other's kept.
    assert not dusk["space_items"] and dusk["space"] == ""  # (an empty Lua table reads {})
    assert [s["title"] for s in dusk["slots"]] == ["Sky Style (required):"]
    assert json.loads(dusk["widgets"] or "{}") == {}
    assert json.loads(sky["widgets"]) == {"Sky Style": "Twilight with cloud"}
    # Back to the first service: what was chosen for it is there again.
    assert back["space"] == "Bedroom" and json.loads(back["widgets"]) == {"Style": "Modern"}
    assert [s["value"] for s in back["slots"]] == ["Modern"]
    catalog_calls = [r["url"] for r in outcome["record"]["requests"] if "/v1/catalog?" in r["url"]]
    assert len(catalog_calls) == 2  # once per service per dialog


def test_a_preset_chosen_in_the_dialog_keeps_its_space_and_widgets_whatever_the_order_of_its_keys(
    lua,  # noqa: F811
    sandbox,
    start_bridge,
    tmp_path,
):
    """Lightroom sets a preset's keys one by one, in an order it does not document: its space and
    widgets are never replaced by the choices made earlier for its service."""
    bridge = start_bridge(sandbox.url)
    preset = {
        "aihd_service": "service-ai-virtual-staging",
        "aihd_submit": True,
        "aihd_space": "Kitchen",
        "aihd_widgets": json.dumps({"Style": "Industrial"}),
    }
    steps = []
    for seed in range(1, 9):  # eight shuffles: every key comes first in some
        steps += [
            ["service", "service-ai-virtual-staging"],
            ["space", "Bedroom"],
            ["Style", "Modern"],
            ["service", "service-day-to-dusk"],
            ["preset", preset, seed],
        ]
    outcome = _staging_dialog(lua, tmp_path, bridge.env, choose=steps)
    for view in outcome["dialog"]["steps"][4::5]:
        assert view["space"] == "Kitchen" and json.loads(view["widgets"]) == {"Style": "Industrial"}, view
        assert [s["value"] for s in view["slots"]] == ["Industrial"] and view["cant_export"] is None


def test_a_preset_value_the_catalog_lacks_disables_export_with_the_choices(
    lua,  # noqa: F811
    sandbox,
    start_bridge,
    tmp_path,
):
    bridge = start_bridge(sandbox.url)
    outcome = _staging_dialog(lua, tmp_path, bridge.env, space="bedroom", widgets={"style": "Baroque"})
    order = outcome["dialog"]["order"]
    assert order["space"] == "Bedroom"  # the catalog's spelling
    assert order["cant_export"] == f"Style 'Baroque' is not offered; choose {', '.join(STYLES)}."


def test_ten_results_come_in_stacked_above_their_sources_once(
    lua,  # noqa: F811
    make_jpeg,
    sandbox,
    start_bridge,
    tmp_path,
):
    bridge = start_bridge(sandbox.url)
    specs = photo_specs([make_jpeg() for _ in range(10)])
    outcome = run(lua, tmp_path, _staging_export(specs), bridge.env)
    assert outcome["dialog"]["steps"][-1]["cant_export"] is None
    record = outcome["record"]
    assert record["failures"] == {} and not record["dialogs"] and not record["modals"]

    history = {i["source_id"]: i for i in bridge.get("/v1/history", params={"limit": 100}).json()["items"]}
    assert len(history) == 10
    charges = sandbox.state.book.counts()["charges"]
    assert sorted(charges) == sorted(i["order_id"] for i in history.values())
    assert set(charges.values()) == {1}  # each order submitted, and charged, once
    for item in history.values():
        assert item["order_state"] == "finished" and item["space"] == "Bedroom"
        assert item["widgets"] == {"Style": "Modern"}

    photos = _by_path(outcome)
    stacked = _results_of(outcome, specs)
    assert len(outcome["photos"]) == 20
    for spec in specs:
        source = photos[spec["path"]]
        item = next(i for i in history.values() if i["order_id"] == source["props"]["orderId"])
        assert source["props"]["status"] == "Finished (1 result)"
        (result,) = stacked[spec["path"]]  # one result, directly above its source
        assert result["path"] == item["results"][0]["path"] and Path(result["path"]).is_file()
        assert result["props"]["orderId"] == source["props"]["orderId"]
        assert result["props"]["status"] == "Result 1 of 1"
        assert result["props"]["service"] == "service-ai-virtual-staging"
        assert result["keywords"] == source["keywords"]
    # The export's bezel counts what came in by its end; the follow-up brought in the rest.
    (bezel,) = record["bezels"]
    assert re.match(r"AI HomeDesign: 10 ordered, 0 not ordered, 0 cancelled; \d+ results? in", bezel), bezel

    # Catch-up again with the cursor kept: one small request, nothing imported or written.
    later = [{"id": p["id"], "path": p["path"], "props": p["props"]} for p in outcome["photos"]]
    again = run(lua, tmp_path, {"action": "catch_up", "photos": later, "prefs": outcome["prefs"]}, bridge.env)
    assert again["record"]["write_attempts"] == 0 and len(again["photos"]) == 20
    assert again["record"]["bezels"] == [
        "AI HomeDesign: nothing new; the results and order ids are up to date"
    ]
    # And from the start of the feed (a cursor lost): the results are in the catalog already, by path.
    fresh = {k: v for k, v in outcome["prefs"].items() if not k.startswith("cursor_")}
    anew = run(lua, tmp_path, {"action": "catch_up", "photos": later, "prefs": fresh}, bridge.env)
    assert anew["record"]["write_attempts"] == 0 and len(anew["photos"]) == 20


def test_a_failed_order_says_why_and_the_others_come_in(lua, make_jpeg, sandbox, start_bridge, tmp_path):  # noqa: F811
    sandbox.state.route_faults = {"submit": FaultPlan(script=[Fault(fail_processing=True)])}
    bridge = start_bridge(sandbox.url)
    specs = photo_specs([make_jpeg() for _ in range(3)])
    outcome = run(
        lua,
        tmp_path,
        {
            "photos": specs,
            **DUSK,
            "prefs": {"followInterval": 1},
        },
        bridge.env,
    )
    history = bridge.get("/v1/history", params={"limit": 10}).json()["items"]
    (failed,) = [i for i in history if i["order_state"] == "failed"]
    photos = _by_path(outcome)
    stacked = _results_of(outcome, specs)
    statuses = sorted(photos[s["path"]]["props"]["status"] for s in specs)
    assert statuses == ["Failed: " + failed["order_error"], "Finished (1 result)", "Finished (1 result)"]
    assert failed["order_error"]
    for spec in specs:
        props = photos[spec["path"]]["props"]
        # Nothing to bring in for the failed order; one result for each of the others.
        assert len(stacked[spec["path"]]) == (0 if props["orderId"] == failed["order_id"] else 1)


def test_without_submit_nothing_is_charged_and_the_status_stays_ordered(
    lua,  # noqa: F811
    make_jpeg,
    sandbox,
    start_bridge,
    tmp_path,
):
    bridge = start_bridge(sandbox.url)
    specs = photo_specs([make_jpeg() for _ in range(2)])
    outcome = run(lua, tmp_path, {"photos": specs, "service": "service-day-to-dusk"}, bridge.env)
    assert not sandbox.state.book.counts()["charges"] and len(sandbox.state.orders()) == 2
    assert [p["props"]["status"] for p in outcome["photos"]] == ["Ordered", "Ordered"]
    assert len(outcome["photos"]) == 2


def test_six_results_land_beside_their_sources_stacked_and_never_over_a_file(
    lua,  # noqa: F811
    make_jpeg,
    sandbox,
    start_bridge,
    tmp_path,
):
    """Lightroom stacks only photos of one folder: each result is written into its source's own
    folder, named after the source, and stacked above it. A file already there keeps its bytes:
    the result takes the next free name and the bridge says where it went."""
    bridge = start_bridge(sandbox.url)
    for folder in ("Shoot A", "Shoot B"):
        (tmp_path / folder).mkdir()
    long_stem = "Maison été " * 18  # 234 bytes: its result's .part name would pass 255 bytes
    names = [
        "Shoot A/IMG_1.jpg",
        "Shoot A/IMG_2.jpg",
        "Shoot A/IMG_3.jpg",
        "Shoot B/IMG_1.jpg",
        "Shoot B/IMG_4.jpg",
        f"Shoot B/{long_stem}.jpg",
    ]
    specs = photo_specs([make_jpeg(name) for name in names])
    taken = tmp_path / "Shoot A" / "IMG_1_virtual-staging_1.jpg"
    taken.write_bytes(b"the photographer's own file")
    outcome = run(lua, tmp_path, _staging_export(specs), bridge.env)
    assert outcome["record"]["failures"] == {} and not outcome["record"]["modals"]
    assert taken.read_bytes() == b"the photographer's own file"

    history = {i["order_id"]: i for i in bridge.get("/v1/history", params={"limit": 100}).json()["items"]}
    stacked = _results_of(outcome, specs)
    photos = _by_path(outcome)
    for spec in specs:
        source = Path(spec["path"])
        (result,) = stacked[spec["path"]]  # one result, directly above its source
        made = Path(result["path"])
        assert made.parent == source.parent and made.is_file()  # in the source's folder
        assert len(made.name.encode()) <= 255 and made.name.startswith(source.stem[:40])
        item = history[photos[spec["path"]]["props"]["orderId"]]
        assert item["results"][0]["path"] == result["path"]
        if source == tmp_path / "Shoot A" / "IMG_1.jpg":
            assert made.name == "IMG_1_virtual-staging_1 (2).jpg"
            assert item["results"][0]["note"] == f"{taken} holds another file: saved as {made.name}"
        elif len(source.stem) < 100:
            assert made.name == f"{source.stem}_virtual-staging_1.jpg" and item["results"][0]["note"] is None
    assert len(outcome["photos"]) == 12
    # Results removed from the catalog: the menu's catch-up (a reconcile) brings them back,
    # though the cursor has moved on long since.
    sources = [
        {"id": p["id"], "path": p["path"], "props": p["props"], "keywords": p["keywords"]}
        for p in outcome["photos"]
        if p["path"] in {s["path"] for s in specs}
    ]
    back = run(
        lua, tmp_path, {"action": "catch_up", "photos": sources, "prefs": outcome["prefs"]}, bridge.env
    )
    assert len(back["photos"]) == 12 and back["record"]["writes"] == 1
    assert all(len(found) == 1 for found in _results_of(back, specs).values())


def test_a_reload_mid_follow_up_leaves_one_loop_and_imports_each_result_once(
    lua,  # noqa: F811
    make_jpeg,
    sandbox,
    start_bridge,
    tmp_path,
):
    sandbox.state.book.processing_time = 4  # the orders finish after the reload
    bridge = start_bridge(sandbox.url)
    specs = photo_specs([make_jpeg() for _ in range(3)])
    exported = run(
        lua,
        tmp_path,
        {
            "photos": specs,
            **DUSK,
            "quit_after": 2,
            "prefs": {"followInterval": 1},
            "sleep_scale": 1,
        },
        bridge.env,
    )
    assert exported["quit"] and not any(p["stack"] for p in exported["photos"])  # nothing finished yet
    later = [{"id": p["id"], "path": p["path"], "props": p["props"]} for p in exported["photos"]]
    outcome = run(
        lua,
        tmp_path,
        {
            "action": "reload",
            "photos": later,
            "prefs": exported["prefs"],
            "reload_after": 1,
            "sleep_scale": 1,
        },
        bridge.env,
    )
    log = outcome["record"]["log"]
    assert sum("follow-up ended: a reload or a shutdown took it over" in line for line in log) == 1, log
    assert not any("result not imported" in line for line in log), log
    assert all(len(found) == 1 for found in _results_of(outcome, specs).values())
    assert len(outcome["photos"]) == 6 and outcome["prefs"].get("followToken") is None


@pytest.mark.long(24)
def test_a_source_folder_out_of_reach_is_said_and_its_results_land_once_it_is_back(
    lua,  # noqa: F811
    make_jpeg,
    sandbox,
    start_bridge,
    tmp_path,
):
    """The source's folder cannot be written (its volume went offline: here a file stands where
    the volume was, so no folder can be made there): the item says so and the order waits; once
    the folder is back the results land in it, and the next start stacks them."""
    sandbox.state.book.processing_time = 6  # the export and Lightroom end before the results
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\npoll_interval = 0.3\n")
    (tmp_path / "Card" / "Shoot").mkdir(parents=True)
    specs = photo_specs([make_jpeg(f"Card/Shoot/IMG_{n}.jpg") for n in range(2)])
    scenario = {
        "photos": specs,
        **DUSK,
        "quit_after": 2,
    }
    first = run(lua, tmp_path, scenario, bridge.env)
    assert first["quit"] and len(first["photos"]) == 2
    card, away = tmp_path / "Card", tmp_path / "Card (offline)"
    card.rename(away)
    card.write_bytes(b"")

    def said():
        items = bridge.get("/v1/history", params={"limit": 10}).json()["items"]
        return all("cannot make the results folder" in (i["order_error"] or "") for i in items) and items

    for item in wait_until(said, timeout=60, what="each item to say its folder cannot be written"):
        assert item["order_state"] == "processing" and str(card / "Shoot") in item["order_error"]
    later = [{"id": p["id"], "path": p["path"], "props": p["props"]} for p in first["photos"]]
    meanwhile = run(  # Lightroom says it too (and follows the orders until it quits)
        lua,
        tmp_path,
        {"action": "catch_up", "photos": later, "prefs": first["prefs"], "quit_after": 3},
        bridge.env,
    )
    for photo in meanwhile["photos"]:
        assert photo["props"]["status"].startswith("Processing, cannot make the results folder "), photo
    card.unlink()
    away.rename(card)

    def finished():
        items = bridge.get("/v1/history", params={"limit": 10}).json()["items"]
        return all(i["order_state"] == "finished" for i in items) and items

    wait_until(finished, timeout=60, what="the results to land")
    outcome = run(lua, tmp_path, {"action": "load", "photos": later, "prefs": first["prefs"]}, bridge.env)
    for spec, found in _results_of(outcome, specs).items():
        (result,) = found
        assert Path(result["path"]).parent == Path(spec).parent
