"""The Lightroom plugin's real files under lua5.1 with a fake SDK, against a real bridge."""

import hashlib
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from fakehttp import RecordingServer

from bridge.sandbox import Fault, FaultPlan
from bridge.setup.plugins import install
from support import ROOT, LuaTests, bridge_env, refusing_port, run_cli

PLUGIN = ROOT / "host-plugin" / "aihomedesign.lrplugin"
HARNESS = ROOT / "host-plugin" / "tests"
PRESETS = ROOT / "host-plugin" / "presets"


@pytest.fixture(scope="session")
def lua():  # also used by test_fake_sdk.py
    lua = shutil.which("lua5.1")
    if lua is None:
        pytest.skip("lua5.1 is not installed (./install.sh --test installs it with apt-get or brew)")
    probe = subprocess.run([lua, "-e", "require 'socket.http'; require 'cjson'"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("lua-socket and lua-cjson are needed for the plugin tests")
    return lua


DEFAULT_CATALOG = "/fake/Lightroom Catalog.lrcat"  # the fake's catalog_path


def run(lua, tmp_path, scenario: dict, env: dict, plugin=PLUGIN) -> dict:
    scenario.setdefault("render_dir", str(tmp_path))
    scenario.setdefault("sleep_scale", 0.2)
    # A catalog the plugin has seen before keeps its identity (what it made the first time, from
    # its path): a scenario about the first time gives catalog_props of its own.
    scenario.setdefault(
        "catalog_props", {"catalogId": _catalog_id(lua, scenario.get("catalog_path", DEFAULT_CATALOG))}
    )
    path, out = tmp_path / "scenario.json", tmp_path / "outcome.json"
    path.write_text(json.dumps(scenario))
    env = {**env, "HOME": str(tmp_path)}  # where the debug log lands, never the real one
    proc = subprocess.run(
        [lua, str(HARNESS / "run_scenario.lua"), str(plugin), str(path), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def photo_specs(paths, first_id=5000):
    return [{"id": first_id + n, "path": str(p)} for n, p in enumerate(paths)]


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_every_plugin_file_parses(lua):
    luac = shutil.which("luac5.1")
    files = (
        sorted(PLUGIN.rglob("*.lua")) + sorted(HARNESS.glob("*.lua")) + sorted(PRESETS.glob("*.lrtemplate"))
    )
    assert len(files) > 20
    for f in files:
        subprocess.run(
            [luac or lua, "-p", str(f)] if luac else [lua, "-e", f"assert(loadfile([[{f}]]))"], check=True
        )


def test_luacheck_is_clean():
    luacheck = shutil.which("luacheck")
    if luacheck is None:
        pytest.skip("luacheck is not installed (./install.sh --test installs Debian's lua-check)")
    proc = subprocess.run([luacheck, "--no-color", "host-plugin"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout  # the rules are in .luacheckrc


LOGIC_TESTS = LuaTests(("lua5.1",), HARNESS / "test_logic.lua", PLUGIN)


@pytest.fixture(scope="module")
def logic_tests(lua):
    return LOGIC_TESTS.run(lua)


@pytest.mark.parametrize("name", LOGIC_TESTS.names())
def test_logic_modules(logic_tests, name):
    logic_tests.check(name)


def test_plugin_definition_and_presets(lua, tmp_path):
    outcome = run(lua, tmp_path, {"action": "load_all"}, {})
    info = outcome["Info"]
    assert info["LrToolkitIdentifier"] == "com.aihomedesign.bridge.lightroom"
    assert (
        info["LrSdkMinimumVersion"] == 6.0
        and info["LrExportServiceProvider"]["file"] == "ExportServiceProvider.lua"
    )
    for key in ("LrMetadataProvider", "LrPluginInfoProvider"):
        assert (PLUGIN / info[key]).is_file()
    assert [(PLUGIN / f).is_file() for f in info["LrMetadataTagsetFactory"]] == [
        True
    ]  # a list, as the samples
    for item in info["LrLibraryMenuItems"]:
        assert (PLUGIN / item["file"]).is_file()
    fields = [f["id"] for f in outcome["MetadataDefinition"]["metadataFieldsForPhotos"]]
    assert fields == ["orderId", "service", "status", "uploadedAt", "orderHistory"]
    defaults = {f["key"]: f["default"] for f in outcome["exportPresetFields"]}
    assert defaults == {
        "aihd_service": "auto",
        "aihd_addKeyword": True,
        "aihd_project": "",  # the Property field: empty, the collection's or the first photo's folder's name
        "aihd_submit": False,  # a submit is a charge: never by default
        "aihd_space": "",
        "aihd_widgets": "",
    }
    services = set()
    for preset in PRESETS.glob("*.lrtemplate"):
        # Lightroom keys a plug-in's fields "<toolkit id>_<key>" in the presets it writes (as in
        # svetlyak40wt/yafotki.lrplugin's presets/*.lrtemplate, saved by Lightroom).
        check = subprocess.run(
            [lua, "-e", f"dofile([[{preset}]]) for k, v in pairs(s.value) do print(k, v) end"],
            capture_output=True,
            text=True,
            check=True,
        )
        value = dict(line.split("\t") for line in check.stdout.splitlines())
        assert value["exportServiceProvider"] == info["LrToolkitIdentifier"]
        fields = {k for k in value if k.startswith(info["LrToolkitIdentifier"])}
        keys = [f["key"] for f in outcome["exportPresetFields"]]
        assert fields == {f"{info['LrToolkitIdentifier']}_{k}" for k in keys}
        service = value[f"{info['LrToolkitIdentifier']}_aihd_service"]
        services.add(service)
        assert value[f"{info['LrToolkitIdentifier']}_aihd_project"] == ""  # each export's own property
        # A service preset submits the order (a charge); Auto only uploads.
        assert value[f"{info['LrToolkitIdentifier']}_aihd_submit"] == (
            "false" if service == "auto" else "true"
        )
    assert services == {
        "auto",
        "service-ai-virtual-staging",
        "service-item-removal",
        "service-day-to-dusk",
        "service-image-enhancement",
        "service-creative-designer",
    }


def test_export_tags_every_photo_with_its_own_order(lua, samples, expected, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    good = [samples / n for n in sorted(expected) if not n.endswith(".heic")]
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes((samples / "Canon.jpg").read_bytes()[:700])
    renders = tmp_path / "renders"
    renders.mkdir()
    outcome = run(
        lua,
        tmp_path,
        {
            "photos": photo_specs(good + [corrupt]),
            "service": "service-day-to-dusk",
            "render_dir": str(renders),
        },
        bridge.env,
    )
    assert outcome["dialog"]["cant_export"] is None and "sandbox" not in outcome["dialog"]["status"]
    orders = {o["sha256"]: o for o in sandbox.state.orders()}
    assert len(orders) == len(good)
    photos = {p["path"]: p for p in outcome["photos"]}
    for path in good:
        props = photos[str(path)]["props"]
        order = orders[_sha(path)]  # the photo carries the order made from its own bytes
        assert props["orderId"] == order["order_id"] and props["status"] == "Ordered"
        assert props["service"] == "service-day-to-dusk" == order["service_name"]
        assert photos[str(path)]["keywords"] == [f"AI HomeDesign > Day to dusk > {order['order_id']}"]
    bad = photos[str(corrupt)]
    assert "orderId" not in bad["props"] and "cut short" in bad["props"]["status"]
    record = outcome["record"]
    assert (
        list(record["failures"]) == [str(bad["id"])] and "corrupt.jpg" in record["failures"][str(bad["id"])]
    )
    assert record["writes"] == 1 and record["portions"][-1] == 1
    assert any(c.startswith("Sending to AI HomeDesign") for c in record["captions"])
    assert not list(renders.iterdir())  # Lightroom deleted its renders; the bridge had its copies
    batches = {i["batch_id"] for i in bridge.get("/v1/history", params={"limit": 100}).json()["items"]}
    assert len(batches) == 1  # one export, one batch


def test_the_property_is_the_field_else_the_collection_else_the_first_photos_folder(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    """The batch's project: the Property field when it names one; left empty, the name of the
    collection exported from, else the folder of the first photo; a preset keeps the field."""
    bridge = start_bridge(sandbox.url)
    seen: set[str] = set()

    def export(folder: str, first_id: int, **scenario) -> tuple[dict, set]:
        (tmp_path / folder).mkdir(exist_ok=True)
        photos = [make_jpeg(f"{folder}/{first_id}-{n}.jpg") for n in range(2)]
        outcome = run(lua, tmp_path, {"photos": photo_specs(photos, first_id)} | scenario, bridge.env)
        assert outcome["record"]["failures"] == {}  # and no rule broken: run() checks it
        items = bridge.get("/v1/history", params={"limit": 100}).json()["items"]
        new = [i for i in items if i["batch_id"] not in seen]
        seen.update(i["batch_id"] for i in new)
        assert len(new) == 2 and len({i["batch_id"] for i in new}) == 1  # one export, one batch
        return outcome, {i["project"] for i in new}

    collection = [{"collection": "12 Oak Avenue"}]
    outcome, projects = export("Shoot 0412", 5000, sources=collection)
    assert projects == {"12 Oak Avenue"}
    assert outcome["dialog"]["order"]["project"] == ""
    assert outcome["dialog"]["order"]["project_note"] == (
        'Left empty: "12 Oak Avenue", the name of the collection exported from.'
    )
    outcome, projects = export("Shoot 0413", 5100, sources=collection, project="  9 Elm Road ")
    assert projects == {"9 Elm Road"}
    assert "filed under it" in outcome["dialog"]["order"]["project_note"]
    # From a folder (or All Photographs): the folder of the first photo.
    folder = [{"folder": str(tmp_path / "7 Mill Lane")}]
    outcome, projects = export("7 Mill Lane", 5200, sources=folder)
    assert projects == {"7 Mill Lane"}
    assert (
        outcome["dialog"]["order"]["project_note"]
        == 'Left empty: "7 Mill Lane", the folder of the first photo.'
    )
    _, projects = export("Flat 3", 5300, sources=["kAllPhotos"])
    assert projects == {"Flat 3"}
    # Two collections at once name no one property: the folder again.
    _, projects = export("Flat 4", 5400, sources=collection + [{"collection": "14 Oak Avenue"}])
    assert projects == {"Flat 4"}
    # A preset chosen in the dialog sets the field, whatever the order of its keys; typed over, it is the typed one.
    preset = {"aihd_service": "auto", "aihd_project": "Rose Cottage", "aihd_submit": False}
    outcome, projects = export("Shoot 0414", 5500, sources=collection, choose=[["preset", preset, 3]])
    assert projects == {"Rose Cottage"} and outcome["dialog"]["steps"][-1]["project"] == "Rose Cottage"
    _, projects = export(
        "Shoot 0415", 5600, sources=collection, choose=[["preset", preset, 5], ["project", "The Old Mill"]]
    )
    assert projects == {"The Old Mill"}


def test_on_v3_an_export_from_a_collection_files_its_orders_under_that_property(
    lua, make_jpeg, sandbox_v3, start_bridge, tmp_path
):
    bridge = start_bridge(sandbox_v3.url)
    (tmp_path / "Shoot 0412").mkdir()
    photos = [make_jpeg(f"Shoot 0412/{n}.jpg") for n in range(2)]
    outcome = run(
        lua,
        tmp_path,
        {"photos": photo_specs(photos), "sources": [{"collection": "12 Oak Avenue"}]},
        bridge.env,
    )
    assert outcome["record"]["failures"] == {}
    v3 = sandbox_v3.state.book.v3
    projects = {p.id: p.address for p in v3.projects.values() if not p.default}
    assert list(projects.values()) == ["12 Oak Avenue"]  # one project, made once
    assert len(v3.orders) == 2 and {projects.get(o.project_id) for o in v3.orders.values()} == {
        "12 Oak Avenue"
    }


def test_a_plugin_under_a_folder_with_non_ascii_letters_exports_and_tags(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    """On Windows Lua's own loadfile and io.open take the ANSI code page: a plugin installed under
    C:\\Users\\José\\…\\Modules could not load its own logic/ files (the fake refuses them too)."""
    bridge = start_bridge(sandbox.url)
    plugin = tmp_path / "José" / "Modules" / PLUGIN.name
    shutil.copytree(PLUGIN, plugin)
    outcome = run(
        lua, tmp_path, {"photos": photo_specs([make_jpeg(), make_jpeg()])}, bridge.env, plugin=plugin
    )
    assert outcome["record"]["failures"] == {}
    assert all(p["props"]["orderId"].startswith("sandbox-") for p in outcome["photos"])
    assert all(p["keywords"] for p in outcome["photos"])


def test_the_plugin_starts_a_bridge_that_is_not_running(lua, make_jpeg, sandbox, tmp_path):
    """No photographer needs a terminal: the plugin runs `serve` with the command the installer
    recorded (each argument quoted, for a shell), waits until the bridge proves itself, and
    exports."""
    home = tmp_path / "bridge home"  # a space: the shell line quotes it
    home.mkdir()
    (home / "config.toml").write_text("retry_base = 0.05\n")
    env = bridge_env(home, sandbox.url, AIHD_PORT="0")
    installed = tmp_path / "installed"
    install(ROOT / "host-plugin", installed, env={"AIHD_LIGHTROOM_DIR": str(tmp_path / "no-lightroom")})
    try:
        outcome = run(
            lua,
            tmp_path,
            {"photos": photo_specs([make_jpeg()])},
            env,
            plugin=installed / "lightroom" / PLUGIN.name,
        )
        assert len(outcome["record"]["executed"]) == 1 and "'serve'" in outcome["record"]["executed"][0]
        assert outcome["dialog"]["cant_export"] is None
        assert outcome["photos"][0]["props"]["orderId"].startswith("sandbox-")
    finally:
        run_cli("stop", env=env)


def test_bridge_down_disables_export_and_says_how_to_start_it(lua, make_jpeg, tmp_path):
    env = {"AIHD_HOME": str(tmp_path / "nowhere"), "HOME": str(tmp_path)}
    outcome = run(lua, tmp_path, {"photos": photo_specs([make_jpeg(), make_jpeg()])}, env)
    assert "not running" in outcome["dialog"]["cant_export"]
    assert "aihd-bridge serve" in outcome["dialog"]["cant_export"]
    record = outcome["record"]
    assert len(record["failures"]) == 2 and all("not running" in m for m in record["failures"].values())
    assert record["dialogs"][0]["kind"] == "critical"


def test_cancel_stops_the_rest_in_the_bridge(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.5)])
    bridge = start_bridge(sandbox.url, config="workers = 1\n")
    photos = [make_jpeg() for _ in range(8)]
    outcome = run(lua, tmp_path, {"photos": photo_specs(photos), "cancel_after": 3}, bridge.env)
    tagged = [p for p in outcome["photos"] if p["props"].get("orderId")]
    cancelled = [p for p in outcome["photos"] if p["props"].get("status") == "Cancelled before upload"]
    assert 1 <= len(tagged) <= 3 and len(cancelled) >= 1
    assert len(tagged) + len(cancelled) == 3  # every photo handed over is accounted for
    assert outcome["record"]["failures"] == {} and not outcome["record"]["modals"]  # cancelled is not failed
    assert outcome["record"]["bezels"] == [
        f"AI HomeDesign: {len(tagged)} ordered, 0 not ordered, {len(cancelled)} cancelled"
    ]
    assert len(sandbox.state.orders()) == len(tagged)
    assert all(not p["props"] for p in outcome["photos"][3:])  # never rendered, never sent


def test_a_write_lightroom_refuses_during_the_export_is_done_once_it_has_ended(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    bridge = start_bridge(sandbox.url)
    outcome = run(
        lua,
        tmp_path,
        {
            "photos": photo_specs([make_jpeg(), make_jpeg()]),
            "refuse_writes_in_export": True,
            "prefs": {"followInterval": 1},
        },
        bridge.env,
    )
    (dialog,) = outcome["record"]["dialogs"]
    assert dialog["kind"] == "warning" and "written by themselves once the export has ended" in dialog["text"]
    assert all(p["props"]["orderId"].startswith("sandbox-") for p in outcome["photos"])  # by the follow-up
    assert outcome["record"]["writes"] == 1


def test_an_lrhttp_that_throws_reads_as_a_bridge_not_running(lua, make_jpeg, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with refusing_port() as port:  # nothing listens there: LrHttp throws, as it is reported to
        (home / "bridge.json").write_text(
            json.dumps({"url": f"http://127.0.0.1:{port}", "port": port, "token": "t"})
        )
        outcome = run(
            lua,
            tmp_path,
            {"photos": photo_specs([make_jpeg()]), "http_throws": True, "action": "catch_up"},
            {"AIHD_HOME": str(home)},
        )
    (dialog,) = outcome["record"]["dialogs"]
    assert "The AI HomeDesign bridge is not running" in dialog["text"]


def test_busy_catalog_still_gets_its_tags(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    outcome = run(lua, tmp_path, {"photos": photo_specs([make_jpeg()]), "busy_writes": 3}, bridge.env)
    assert outcome["record"]["write_attempts"] == 4
    assert outcome["photos"][0]["props"]["orderId"].startswith("sandbox-")


def test_second_export_keeps_the_earlier_order(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    photo = make_jpeg()
    first = run(lua, tmp_path, {"photos": photo_specs([photo]), "service": "service-day-to-dusk"}, bridge.env)
    props = first["photos"][0]["props"]
    spec = photo_specs([photo])
    spec[0]["props"] = props
    second = run(
        lua, tmp_path, {"photos": spec, "service": "service-item-removal", "add_keyword": False}, bridge.env
    )
    now = second["photos"][0]["props"]
    assert now["orderId"] != props["orderId"] and now["service"] == "service-item-removal"
    assert now["orderHistory"].startswith(props["orderId"] + " (Day to dusk, ")
    assert not second["photos"][0]["keywords"]  # an empty Lua table: no keyword this time


def test_plugin_manager_history_and_clear(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    info = run(lua, tmp_path, {"action": "info"}, bridge.env)["info"]
    assert info["aihd_mode"] == "live" and info["aihd_dataDir"] == str(bridge.home)
    photo = make_jpeg()
    props = run(lua, tmp_path, {"photos": photo_specs([photo])}, bridge.env)["photos"][0]["props"]
    spec = photo_specs([photo])
    spec[0]["props"] = props
    history = run(lua, tmp_path, {"action": "history", "photos": spec}, bridge.env)
    text = history["record"]["modals"][0]["text"]
    assert props["orderId"] in text and "bridge: done" in text
    cleared = run(lua, tmp_path, {"action": "clear", "photos": spec}, bridge.env)
    assert cleared["photos"][0]["props"] == {}
    # The next start's reconcile leaves what the person cleared alone.
    spec[0]["props"] = {}
    started = run(lua, tmp_path, {"action": "load", "photos": spec, "prefs": cleared["prefs"]}, bridge.env)
    assert started["photos"][0]["props"] == {} and started["record"]["write_attempts"] == 0


def test_data_folder_set_in_the_plugin_manager(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    env = dict(bridge.env, AIHD_HOME=str(tmp_path / "elsewhere"))  # the default finds nothing
    info = run(lua, tmp_path, {"action": "info", "prefs": {"dataDir": str(bridge.home)}}, env)["info"]
    assert info["aihd_dataDir"] == str(bridge.home) and info["aihd_mode"] == "live"
    outcome = run(
        lua, tmp_path, {"photos": photo_specs([make_jpeg()]), "prefs": {"dataDir": str(bridge.home)}}, env
    )
    assert outcome["photos"][0]["props"]["orderId"].startswith("sandbox-")


def _history(entries: int) -> str:
    """An 'Earlier orders' field as a long-used photo carries it: multibyte text, near the limit."""
    text = "; ".join(
        f"ordre-{n:02d} (Day to dusk, 2025-0{n % 9 + 1}-0{n % 9 + 1} 10:00 — été)" for n in range(entries)
    )
    return text.encode()[:505].decode("utf-8", "ignore")


def test_twenty_photos_with_the_keyword_over_a_long_history(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    photos = photo_specs([make_jpeg() for _ in range(20)])
    for spec in photos:
        spec["props"] = {
            "orderId": f"old-{spec['id']}",
            "service": "service-day-to-dusk",
            "uploadedAt": "2026-01-02 09:00",
            "status": "Ordered",
            "orderHistory": _history(12),
        }
    outcome = run(lua, tmp_path, {"photos": photos, "service": "service-day-to-dusk"}, bridge.env)
    record = outcome["record"]
    assert record["writes"] == 1 and not record["failures"] and not record["modals"]
    for photo in outcome["photos"]:
        props = photo["props"]
        assert props["orderId"].startswith("sandbox-") and props["status"] == "Ordered"
        history = props["orderHistory"].encode()
        assert len(history) <= 511 and history.decode().startswith(
            f"old-{photo['id']} (Day to dusk, 2026-01-02 09:00); ordre-00"
        )
        assert history.endswith("…".encode())  # the oldest ones stay in the bridge's history only
        assert photo["keywords"] == [f"AI HomeDesign > Day to dusk > {props['orderId']}"]
    assert len({p["props"]["orderId"] for p in outcome["photos"]}) == 20
    assert [s["title"] for s in outcome["scopes"] if s["own"]] == ["AI HomeDesign: waiting for the uploads"]
    assert outcome["dialog_at_start"] == "Looking for the AI HomeDesign bridge..."  # the task ran later
    # Every poll after the first asks only for what changed: its cost does not grow with the export.
    polls = [r["url"] for r in record["requests"] if r["method"] == "GET" and "/v1/batches/" in r["url"]]
    assert len(polls) > 1 and "since=" not in polls[0] and all("?since=" in url for url in polls[1:])
    handed = [r for r in record["requests"] if r["method"] == "POST" and r["url"].endswith("/v1/uploads")]
    assert len(handed) <= 20


def test_a_600_byte_error_fits_the_status_field_and_shows_in_a_dialog(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    message = "Le service a refusé la photo : " + "€" * 300  # the bridge keeps its first 300 or so characters
    sandbox.state.faults = FaultPlan(script=[Fault(status=422, body=json.dumps({"error": message}))])
    bridge = start_bridge(sandbox.url, config="workers = 1\n")
    outcome = run(lua, tmp_path, {"photos": photo_specs([make_jpeg(), make_jpeg()])}, bridge.env)
    failed = [p for p in outcome["photos"] if p["props"]["status"] != "Ordered"]
    assert len(failed) == 1
    status = failed[0]["props"]["status"]
    assert status.startswith("Failed: ") and len(status.encode()) <= 511 and status.endswith("€…")
    remote = [i["error"] for i in bridge.get("/v1/history").json()["items"] if i["state"] == "failed"]
    assert len(remote[0].encode()) > 600  # what the bridge said: too long for a searchable field
    modal = outcome["record"]["modals"][0]
    assert (
        modal["scrolls"] and "1 of 2 photos were not ordered" in modal["text"] and "photo-" in modal["text"]
    )
    assert outcome["record"]["failures"] == {}  # known after the loop: the dialog, not uploadFailed


def test_cancel_during_the_wait_cancels_the_rest_in_the_bridge(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.5)])
    bridge = start_bridge(sandbox.url, config="workers = 1\n")
    outcome = run(
        lua,
        tmp_path,
        {"photos": photo_specs([make_jpeg() for _ in range(6)]), "cancel_wait_after": 1},
        bridge.env,
    )
    states = [p["props"].get("status") for p in outcome["photos"]]
    assert states.count("Cancelled before upload") >= 4 and states.count("Ordered") >= 1
    assert states.count("Cancelled before upload") + states.count("Ordered") == 6
    assert len(sandbox.state.orders()) == states.count("Ordered")
    wait = [s for s in outcome["scopes"] if s["own"]][0]
    assert wait["polls"] >= 1 and not outcome["open_scopes"]


def test_debug_log_switch(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    info = run(lua, tmp_path, {"action": "info", "set_prefs": {"debugLog": True}}, bridge.env)
    log = tmp_path / "Library" / "Logs" / "Adobe" / "Lightroom" / "LrClassicLogs" / "AIHomeDesign.log"
    assert info["info"]["aihd_logPath"] == str(log) == info["log_path"]
    run(lua, tmp_path, {"photos": photo_specs([make_jpeg()])}, bridge.env)
    assert not log.exists()  # off by default: nothing written
    run(lua, tmp_path, {"photos": photo_specs([make_jpeg()]), "prefs": {"debugLog": True}}, bridge.env)
    assert "export of 1 photos" in log.read_text()
    # Lightroom Classic 12 and older write the plug-in's log under Documents.
    older = run(lua, tmp_path, {"action": "info", "lightroom_version": 12}, bridge.env)
    assert older["info"]["aihd_logPath"] == str(tmp_path / "Documents" / "LrClassicLogs" / "AIHomeDesign.log")
    assert older["log_path"] == older["info"]["aihd_logPath"]


def test_history_of_many_photos_in_one_call(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    specs = photo_specs([make_jpeg() for _ in range(30)])
    done = run(lua, tmp_path, {"photos": specs}, bridge.env)["photos"]
    for spec, photo in zip(specs, done):
        spec["props"] = photo["props"]
    outcome = run(lua, tmp_path, {"action": "history", "photos": specs}, bridge.env)
    calls = [r["url"] for r in outcome["record"]["requests"] if "/v1/history" in r["url"]]
    assert len(calls) == 1 and calls[0].count("source_id=") == 90  # each photo under its three ids
    modal = outcome["record"]["modals"][0]
    assert modal["scrolls"] and modal["text"].count("bridge: done") == 30
    assert all(p["props"]["orderId"] in modal["text"] for p in done)


def test_a_stranger_on_the_bridges_port_gets_nothing(lua, make_jpeg, tmp_path):
    """bridge.json left by a killed bridge, its port now answered by another program that says
    200 to everything: the plugin sends it neither the token nor a photo, and says why."""
    made_up = json.dumps(
        {
            "status": "ok",
            "mode": "live",
            "version": "9",
            "batch_id": "b_x",
            "order_id": "MADE-UP",
            "pid": 1,
            "proof": "0" * 64,
        }
    ).encode()
    with RecordingServer(lambda *_: (200, {"Content-Type": "application/json"}, made_up)) as stranger:
        home = tmp_path / "home"
        home.mkdir()
        token = "stale-token-" + "x" * 32
        (home / "bridge.json").write_text(
            json.dumps({"url": stranger.url, "port": stranger.port, "pid": 1, "token": token})
        )
        photos = [make_jpeg(), make_jpeg()]
        outcome = run(
            lua, tmp_path, {"photos": photo_specs(photos)}, {"AIHD_HOME": str(home), "HOME": str(tmp_path)}
        )
    assert "Another program answers" in outcome["dialog"]["cant_export"]
    assert all(not p["props"] for p in outcome["photos"])
    assert stranger.requests and all(r["path"].startswith("/v1/identity?nonce=") for r in stranger.requests)
    assert not stranger.seen(token) and not any(stranger.seen(p.name) for p in photos)
    assert not any("Authorization" in r["headers"] for r in stranger.requests)


OUTAGE_CONFIG = "retry_base = 0.05\nmax_attempts = 3\nprobe_max_wait = 0.5\n"


def _catalog_id(lua, path: str) -> str:
    """The catalog id the plugin derives from a catalog's path (AihdCatalog.id)."""
    code = f"package.path = [[{PLUGIN}/logic/?.lua;]] .. package.path; io.write(require('AihdCatalog').id([[{path}]]))"
    return subprocess.run([lua, "-e", code], capture_output=True, text=True, check=True).stdout


def _later(specs, outcome):
    """The same photos in a later run of Lightroom: with what the catalog kept of them."""
    kept = {p["id"]: p["props"] for p in outcome["photos"]}
    return [dict(spec, props=kept[spec["id"]] or {}) for spec in specs]


def test_two_catalogs_with_equal_local_ids_each_get_only_their_own(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    bridge = start_bridge(sandbox.url)
    catalogs = {"a": "/Users/me/Pictures/Houses.lrcat", "b": "/Volumes/Work/Houses.lrcat"}
    specs = {name: photo_specs([make_jpeg(), make_jpeg()]) for name in catalogs}  # ids 5000, 5001 in both
    exported = {
        name: run(lua, tmp_path, {"photos": specs[name], "catalog_path": path}, bridge.env)
        for name, path in catalogs.items()
    }
    items = bridge.get("/v1/history", params={"limit": 100}).json()["items"]
    ids = {name: _catalog_id(lua, path) for name, path in catalogs.items()}
    assert ids["a"] != ids["b"]
    for name in catalogs:
        mine = {i["source_id"]: i["order_id"] for i in items if i["source_id"].startswith(ids[name] + ":")}
        # "<catalog id>:<local id>:<uuid>": the uuid finds the photo in a copy of the catalog too.
        assert set(mine) == {f"{ids[name]}:{p['id']}:{p['uuid']}" for p in exported[name]["photos"]}
        by_client = bridge.get("/v1/history", params={"client": f"lightroom:{ids[name]}"}).json()["items"]
        assert {i["source_id"] for i in by_client} == set(mine)
        tagged = {p["id"]: p["props"]["orderId"] for p in exported[name]["photos"]}
        assert tagged == {int(sid.split(":")[1]): order for sid, order in mine.items()}
    # Each catalog, with its fields cleared and its cursor forgotten, catches up its own orders only.
    for name, path in catalogs.items():
        blank = [dict(spec, props={}) for spec in specs[name]]
        caught = run(lua, tmp_path, {"action": "load", "photos": blank, "catalog_path": path}, bridge.env)
        got = {p["id"]: p["props"]["orderId"] for p in caught["photos"]}
        assert got == {p["id"]: p["props"]["orderId"] for p in exported[name]["photos"]}, name
        history = run(lua, tmp_path, {"action": "history", "photos": blank, "catalog_path": path}, bridge.env)
        text = history["record"]["modals"][0]["text"]
        other = "b" if name == "a" else "a"
        assert all(p["props"]["orderId"] in text for p in exported[name]["photos"])
        assert not any(p["props"]["orderId"] in text for p in exported[other]["photos"])


def test_history_still_finds_orders_made_before_catalog_ids(lua, make_jpeg, sandbox, start_bridge, tmp_path):
    """Plugin 0.1 handed photos over under their bare local id, as client "lightroom"."""
    bridge = start_bridge(sandbox.url)
    photo = make_jpeg()
    old = bridge.post(
        "/v1/uploads", json={"items": [{"path": str(photo), "source_id": "5000"}], "client": "lightroom"}
    ).json()
    order = bridge.wait(old["batch_id"])["items"][0]["order_id"]
    outcome = run(lua, tmp_path, {"action": "history", "photos": photo_specs([photo])}, bridge.env)
    assert f"bridge: done Image enhancement {order}" in outcome["record"]["modals"][0]["text"]


def test_orders_of_plugin_0_2_reach_their_photos_in_a_100000_photo_catalog(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    """Items handed over by plugin 0.2 carry the local id only (no uuid): catch-up finds their
    photos among those the plugin has written on (findPhotosWithProperty), never by walking
    the catalog, which would freeze Lightroom for seconds (the fake counts what it costs)."""
    bridge = start_bridge(sandbox.url)
    catalog_id = _catalog_id(lua, DEFAULT_CATALOG)
    specs = photo_specs([make_jpeg() for _ in range(2)])
    items = [{"path": s["path"], "source_id": f"{catalog_id}:{s['id']}"} for s in specs]
    batch = bridge.wait(
        bridge.post("/v1/uploads", json={"items": items, "client": f"lightroom:{catalog_id}"}).json()[
            "batch_id"
        ]
    )
    waiting = [
        dict(s, props={"status": "Waiting in the bridge; its order id follows by itself"}) for s in specs
    ]
    outcome = run(lua, tmp_path, {"action": "load", "photos": waiting, "more_photos": 100_000}, bridge.env)
    assert [p["props"]["orderId"] for p in outcome["photos"]] == [i["order_id"] for i in batch["items"]]
    assert outcome["record"]["all_photos_read"] == 0


def test_catch_up_after_lightroom_quit_mid_export_needs_no_click(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    sandbox.state.unreachable_for(10**6)  # the network is away while the export runs
    bridge = start_bridge(sandbox.url, config=OUTAGE_CONFIG)
    specs = photo_specs([make_jpeg() for _ in range(3)])
    # Lightroom quits 4 s into the export, while it waits for the uploads.
    first = run(lua, tmp_path, {"photos": specs, "quit_after": 4}, bridge.env)
    assert first["quit"] and all("orderId" not in p["props"] for p in first["photos"])
    assert any(
        c.startswith("Waiting for the network since ") and "the photos are safe in the bridge." in c
        for c in first["record"]["captions"]
    ), first["record"]["captions"]
    assert first["record"]["failures"] == {} and not first["record"]["dialogs"]
    assert not sandbox.state.orders()

    sandbox.state.unreachable_for(0)  # the network is back; the bridge goes on alone
    batch_id = bridge.get("/v1/history", params={"limit": 1}).json()["items"][0]["batch_id"]
    batch = bridge.wait(batch_id, timeout=60)
    assert batch["counts"]["done"] == 3

    # Lightroom starts again: the plugin loads, and the order ids arrive with no click.
    later = run(
        lua, tmp_path, {"action": "load", "photos": _later(specs, first), "prefs": first["prefs"]}, bridge.env
    )
    orders = {o["sha256"]: o["order_id"] for o in sandbox.state.orders()}
    for spec, photo in zip(specs, later["photos"]):
        props = photo["props"]
        assert props["orderId"] == orders[_sha(spec["path"])] and props["status"] == "Ordered", props
        assert photo["keywords"] == [f"AI HomeDesign > Image enhancement > {props['orderId']}"]
    record = later["record"]
    assert record["writes"] == 1 and not record["dialogs"] and not record["modals"]
    assert len([r for r in record["requests"] if "/v1/changes?" in r["url"]]) == 1

    # Nothing new since: the next start reconciles (this catalog's history from its start, one
    # small page here) and writes nothing; no walk of the catalog; the cursor stays where it was.
    again = run(
        lua, tmp_path, {"action": "load", "photos": _later(specs, later), "prefs": later["prefs"]}, bridge.env
    )
    record = again["record"]
    changes = [r["url"] for r in record["requests"] if "/v1/changes?" in r["url"]]
    assert len(changes) == 1 and "since=0&" in changes[0]
    assert record["write_attempts"] == 0 and record["all_photos_read"] == 0
    assert again["prefs"] == later["prefs"] and later["prefs"][f"cursor_{_catalog_id(lua, DEFAULT_CATALOG)}"]
    assert [r["url"].split("?")[0].rsplit("/", 1)[-1] for r in record["requests"]] == [
        "identity",
        "health",
        "changes",
    ]


@pytest.mark.parametrize("identity", ["kept in the catalog", "plugin 0.2's, from the path"])
def test_a_catalog_upgraded_to_a_new_file_after_a_quit_gets_every_id_at_load(
    lua, make_jpeg, sandbox, start_bridge, tmp_path, identity
):
    """Lightroom quits before the order ids are written; its upgrade then writes the catalog anew
    (Studio.lrcat becomes Studio-v13.lrcat), and here the photos' local ids changed too, as in a
    catalog exported as a new one. The identity kept in the catalog (or, for a catalog plugin 0.2
    knew by its path, the identity of the file it was upgraded from, whose orders the bridge
    holds) and the photos' uuids find them: every id is written when the plugin loads, no click."""
    sandbox.state.unreachable_for(10**6)
    bridge = start_bridge(sandbox.url, config=OUTAGE_CONFIG)
    specs = photo_specs([make_jpeg() for _ in range(3)])
    first = run(
        lua,
        tmp_path,
        {"photos": specs, "quit_after": 4, "catalog_path": "/Photos/Studio.lrcat", "catalog_props": {}},
        bridge.env,
    )
    assert first["quit"] and all("orderId" not in p["props"] for p in first["photos"])
    assert first["catalog_props"]["catalogId"] == _catalog_id(lua, "/Photos/Studio.lrcat")  # made once
    sandbox.state.unreachable_for(0)
    batch_id = bridge.get("/v1/history", params={"limit": 1}).json()["items"][0]["batch_id"]
    assert bridge.wait(batch_id, timeout=60)["counts"]["done"] == 3

    upgraded = [
        dict(spec, id=spec["id"] + 100, uuid=photo["uuid"], props=photo["props"])
        for spec, photo in zip(specs, first["photos"])
    ]
    later = run(
        lua,
        tmp_path,
        {
            "action": "load",
            "photos": upgraded,
            "prefs": first["prefs"],
            "catalog_path": "/Photos/Studio-v13.lrcat",
            "catalog_props": first["catalog_props"] if identity == "kept in the catalog" else {},
        },
        bridge.env,
    )
    assert later["init_ran"]  # LrForceInitPlugin: at Lightroom's start, not at the first use
    orders = {o["sha256"]: o["order_id"] for o in sandbox.state.orders()}
    for spec, photo in zip(upgraded, later["photos"]):
        assert photo["id"] == spec["id"] and photo["props"]["orderId"] == orders[_sha(spec["path"])]
    assert later["catalog_props"] == first["catalog_props"]
    assert later["record"]["all_photos_read"] == 0 and not later["record"]["dialogs"]


def test_a_catch_up_undone_by_the_person_is_written_again_by_the_next(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    """A background write is an undo step (its keywords need withWriteAccessDo): the person's next
    Ctrl/Cmd-Z takes it back after the cursor has moved on. The next catch-up reconciles."""
    bridge = start_bridge(sandbox.url)
    specs = photo_specs([make_jpeg() for _ in range(2)])
    exported = run(lua, tmp_path, {"photos": specs}, bridge.env)
    blank = [dict(spec, props={}) for spec in specs]  # as if cleared: the load writes them back
    loaded = run(
        lua, tmp_path, {"action": "load", "photos": blank, "prefs": exported["prefs"], "undo": 1}, bridge.env
    )
    assert loaded["undone"] == ["AI HomeDesign order ids"]
    assert all(not p["props"] and not p["keywords"] for p in loaded["photos"])  # the Undo took it back
    assert loaded["prefs"] == exported["prefs"]  # ... after the cursor had moved on
    again = run(
        lua,
        tmp_path,
        {"action": "catch_up", "photos": _later(specs, loaded), "prefs": loaded["prefs"]},
        bridge.env,
    )
    assert [p["props"]["orderId"] for p in again["photos"]] == [
        p["props"]["orderId"] for p in exported["photos"]
    ]
    assert all(p["keywords"] for p in again["photos"]) and again["record"]["writes"] == 1
    assert again["record"]["bezels"] == ["AI HomeDesign: 0 results in, 2 photos brought up to date"]
    # Without keywords a catch-up writes only the plugin's own fields: a private write, which
    # makes no undo step (the Undo finds nothing of the plugin's to take back).
    private = run(
        lua,
        tmp_path,
        {"action": "load", "photos": blank, "prefs": {**exported["prefs"], "addKeyword": False}, "undo": 1},
        bridge.env,
    )
    assert private["undone"] == [None] and all(p["props"]["orderId"] for p in private["photos"])


def test_export_stops_waiting_at_its_limit_and_the_rest_arrives_by_itself(
    lua, make_jpeg, sandbox, start_bridge, tmp_path
):
    sandbox.state.unreachable_for(10**6)
    bridge = start_bridge(sandbox.url, config=OUTAGE_CONFIG)
    specs = photo_specs([make_jpeg() for _ in range(3)])
    back = threading.Timer(6, sandbox.state.unreachable_for, (0,))  # back after the wait gave up
    back.start()
    outcome = run(
        lua, tmp_path, {"photos": specs, "prefs": {"waitLimit": 2, "followInterval": 2}}, bridge.env
    )
    record = outcome["record"]
    assert record["failures"] == {} and not record["modals"]  # a silent API fails no photo
    assert [d["kind"] for d in record["dialogs"]] == ["info"]
    assert "3 of 3 photos are still on their way" in record["dialogs"][0]["text"]
    assert record["bezels"] == ["AI HomeDesign: 0 ordered, 0 not ordered, 0 cancelled, 3 on their way"]
    waiting = [s for s in outcome["scopes"] if s["own"]][0]
    assert any(c.startswith("Waiting for the network since ") for c in waiting["captions"])
    # Lightroom stayed open: the follow-up wrote the order ids once the bridge had them.
    orders = {o["sha256"]: o["order_id"] for o in sandbox.state.orders()}
    for spec, photo in zip(specs, outcome["photos"]):
        assert (
            photo["props"]["orderId"] == orders[_sha(spec["path"])] and photo["props"]["status"] == "Ordered"
        )
    back.join()
    # The export's write (waiting), then the follow-up's: one or more, as the photos got done.
    assert len(orders) == 3 and record["writes"] >= 2
    assert outcome["prefs"][f"pending_{_catalog_id(lua, DEFAULT_CATALOG)}"] == ""


def test_poll_benchmark_runs(lua):
    """`python -m bench --only lua-poll` runs this script; here it runs briefly, for its shape."""
    proc = subprocess.run(
        [lua, str(HARNESS / "bench_poll.lua"), str(PLUGIN), "0.01"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    timings = json.loads(proc.stdout)
    assert set(timings) == {"cursor_200", "cursor_2000", "full_200", "full_2000"}
    assert timings["cursor_2000"]["bytes"] < 1.1 * timings["cursor_200"]["bytes"]
    assert timings["full_2000"]["bytes"] > 9 * timings["full_200"]["bytes"]


def test_open_status_page_from_the_plugin_manager(lua, sandbox, start_bridge, tmp_path):
    import requests

    bridge = start_bridge(sandbox.url)
    outcome = run(lua, tmp_path, {"action": "info", "press": "Open status page"}, bridge.env)
    (url,) = outcome["record"]["opened_urls"]
    assert url.startswith(bridge.url + "/?code=")
    browser = requests.Session()
    browser.trust_env = False
    first = browser.get(url, allow_redirects=False)  # the link works, once
    assert (
        first.status_code == 303
        and first.headers["Location"] == "/"
        and "HttpOnly" in first.headers["Set-Cookie"]
    )
    assert browser.get(bridge.url + "/").status_code == 200
    again = requests.get(url, allow_redirects=False)
    assert again.status_code == 403 and "used already" in again.text


def test_open_status_page_says_why_when_the_bridge_is_not_running(lua, tmp_path):
    env = {"AIHD_HOME": str(tmp_path / "nowhere")}
    outcome = run(lua, tmp_path, {"action": "info", "press": "Open status page"}, env)
    assert not outcome["record"]["opened_urls"]  # an empty Lua table
    assert outcome["info"]["aihd_status"].startswith(
        "The status page could not be opened: The AI HomeDesign bridge is not running"
    )
