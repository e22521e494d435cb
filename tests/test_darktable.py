"""The darktable script under Lua 5.4 with a fake `darktable` module, installed by the real
`aihd-bridge plugin install --host darktable`, against a real bridge and the sandbox."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, LuaTests, run_cli

DT = ROOT / "host-plugin" / "darktable"
HARNESS = DT / "tests"
# Spaces, quotes, a dollar, a backtick and non-ASCII: every path the script builds passes these.
ODD = "dt tmp 'ü' \"q\" $HOME `x`"


@pytest.fixture(scope="session")
def lua54():
    if sys.platform == "win32":
        pytest.skip("the fake darktable runs the script's commands through sh: Linux and macOS")
    for name in ("lua5.4", "lua"):
        lua = shutil.which(name)
        if (
            lua
            and subprocess.run([lua, "-e", "assert(_VERSION == 'Lua 5.4')"], capture_output=True).returncode
            == 0
        ):
            return lua
    pytest.skip("Lua 5.4 is not installed (./install.sh --test installs lua5.4 with apt-get or brew)")


@pytest.fixture
def darktable(tmp_path, lua54):
    """A darktable config dir with the script installed the way users get it; run(...) exports."""
    config = tmp_path / "darktable config é"
    config.mkdir()
    (config / "luarc").write_text('require "tools/script_manager"\n')
    env = {"AIHD_DARKTABLE_DIR": str(config), "HOME": str(tmp_path)}
    proc = run_cli("plugin", "install", "--host", "darktable", env=env | _base_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    temp = tmp_path / ODD
    temp.mkdir()

    def run(env: dict, images: list, export: list | None = None, **scenario) -> dict:
        scenario.update(
            tmp_dir=str(temp),
            export=export if export is not None else [i["id"] for i in images],
            images=images,
        )
        path, out = tmp_path / "scenario.json", tmp_path / "outcome.json"
        path.write_text(json.dumps(scenario))
        proc = subprocess.run(
            [lua54, str(HARNESS / "run_export.lua"), str(config), str(path), str(out)],
            env=env | {"HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outcome = json.loads(out.read_text())
        assert outcome["loaded"], outcome.get("load_error")
        outcome["leftovers"] = sorted(p.name for p in temp.iterdir())
        return outcome

    run.config = config
    return run


def _base_env():
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("AIHD_")}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ten_images_get_their_own_orders_and_a_corrupt_one_fails_alone(
    darktable, make_jpeg, sandbox, start_bridge, tmp_path
):
    bridge = start_bridge(sandbox.url)
    (bridge.home / "presets.toml").write_text(
        '[presets.twilight]\ntitle = "Twilight exteriors"\nservice = "day-to-dusk"\n'
    )
    names = ["living room.jpg", "Größe 'A' \"x\".jpg", "$(touch pwned).jpg", "a;b&c|d.jpg"]
    photos = [make_jpeg(names[n] if n < len(names) else None) for n in range(8)]
    for sub in ("card1", "card2"):  # two IMG_0001.jpg: darktable exports both to one temp name
        (tmp_path / sub).mkdir()
        photos.append(make_jpeg(f"{sub}/IMG_0001.jpg"))
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(photos[0].read_bytes()[:700])
    images = [{"id": 40 + n, "path": str(p)} for n, p in enumerate(photos + [corrupt])]

    outcome = darktable(bridge.env, images, preset="Day to dusk")

    assert outcome["storage"]["name"] == "AI HomeDesign"
    assert "Twilight exteriors" in outcome["storage"]["presets"]  # asked the bridge's CLI
    assert outcome["storage"]["selected"] == "Auto: choose from the photo"  # until one is picked
    assert outcome["storage"]["formats"] == ["jpeg", "png", "tiff", "webp"]
    assert outcome.get("export_error") is None
    orders = {o["sha256"]: o for o in sandbox.state.orders()}
    assert len(orders) == 10
    by_path = {i["path"]: i for i in outcome["images"]}
    for photo in photos:
        order = orders[_sha(photo)]  # the image carries the order made from its own bytes
        assert order["service_name"] == "service-day-to-dusk"
        assert by_path[str(photo)]["tags"] == [f"AI HomeDesign|Day to dusk|{order['order_id']}"]
        assert by_path[str(photo)]["notes"] == f"AI HomeDesign: Day to dusk, order {order['order_id']}"
    bad = by_path[str(corrupt)]
    assert bad["tags"] == [] and bad["notes"] == ""
    assert len(outcome["errors"]) == 1
    assert outcome["errors"][0] == (
        "AI HomeDesign: corrupt.jpg: is cut short (the JPEG has no end-of-image marker)"
    )
    assert outcome["messages"][-1] == "AI HomeDesign: 10 ordered, 1 failed: " + outcome["errors"][0][15:]
    assert outcome["leftovers"] == []  # exports, items file and stderr file are gone
    history = bridge.get("/v1/history", params={"limit": 100}).json()["items"]
    library = outcome["preferences"]["aihomedesign/library_id"]
    assert sorted(i["source_id"] for i in history) == sorted(f"darktable:{library}:{i['id']}" for i in images)
    assert len({i["batch_id"] for i in history}) == 1  # one export, one batch


def test_a_second_order_adds_a_tag_and_a_notes_line(darktable, make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    photo = make_jpeg()
    images = [{"id": 7, "path": str(photo), "notes": "shot from the garden"}]
    first = darktable(bridge.env, images, preset="Day to dusk")
    second = darktable(bridge.env, images, preset="Item removal")
    orders = {o["service_name"]: o["order_id"] for o in sandbox.state.orders()}
    assert len(orders) == 2
    assert first["images"][0]["tags"] == [f"AI HomeDesign|Day to dusk|{orders['service-day-to-dusk']}"]
    image = second["images"][0]  # each run is a fresh fake darktable: the notes come from the spec
    assert image["tags"] == [f"AI HomeDesign|Item removal|{orders['service-item-removal']}"]
    line = f"AI HomeDesign: Item removal, order {orders['service-item-removal']}"
    assert image["notes"] == "shot from the garden\n" + line


def test_each_image_goes_as_part_of_its_film_roll_unless_the_field_names_a_property(
    darktable, make_jpeg, sandbox, start_bridge, tmp_path
):
    bridge = start_bridge(sandbox.url)
    photos = []
    for folder in ("12 Oak Avenue", "Flat 3, 7 Mill Lane"):
        (tmp_path / folder).mkdir()
        photos += [make_jpeg(f"{folder}/kitchen {n}.jpg") for n in range(2)]
    images = [{"id": 60 + n, "path": str(p)} for n, p in enumerate(photos)]
    library = darktable(bridge.env, images)["preferences"]["aihomedesign/library_id"]
    history = bridge.get("/v1/history", params={"limit": 100}).json()["items"]
    assert {i["source_id"]: i["project"] for i in history} == {
        f"darktable:{library}:{image['id']}": str(Path(image["path"]).parent.name) for image in images
    }
    darktable(
        bridge.env, images[:1], property="  9 Elm Road ", preferences={"aihomedesign/library_id": library}
    )
    latest = bridge.get("/v1/history", params={"limit": 1}).json()["items"][0]
    assert latest["source_id"] == f"darktable:{library}:60" and latest["project"] == "9 Elm Road"


def test_on_v3_each_film_roll_is_a_project(darktable, make_jpeg, sandbox_v3, start_bridge, tmp_path):
    bridge = start_bridge(sandbox_v3.url)
    photos = []
    for folder in ("12 Oak Avenue", "7 Mill Lane"):
        (tmp_path / folder).mkdir()
        photos += [make_jpeg(f"{folder}/{n}.jpg") for n in range(2)]
    outcome = darktable(bridge.env, [{"id": 80 + n, "path": str(p)} for n, p in enumerate(photos)])
    assert outcome["errors"] == []
    v3 = sandbox_v3.state.book.v3
    projects = {p.id: p.address for p in v3.projects.values() if not p.default}
    assert sorted(projects.values()) == ["12 Oak Avenue", "7 Mill Lane"]
    by_project: dict[str, int] = {}
    for order in v3.orders.values():
        by_project[projects[order.project_id]] = by_project.get(projects[order.project_id], 0) + 1
    assert by_project == {"12 Oak Avenue": 2, "7 Mill Lane": 2}


def test_bridge_down_is_said_plainly_once(darktable, make_jpeg, tmp_path):
    env = _base_env() | {"AIHD_HOME": str(tmp_path / "no bridge here")}
    images = [{"id": n, "path": str(make_jpeg())} for n in range(1, 4)]
    outcome = darktable(env, images)
    down = [m for m in outcome["messages"] if "not running" in m]
    assert len(down) == 1 and "aihd-bridge serve" in down[0]
    assert outcome["messages"][-1] == down[0]
    assert all(i["tags"] == [] and i["notes"] == "" for i in outcome["images"])
    assert outcome["leftovers"] == []


def test_a_missing_program_is_named_and_the_widget_keeps_its_presets(darktable, make_jpeg, tmp_path):
    env = _base_env() | {"AIHD_HOME": str(tmp_path / "home")}
    outcome = darktable(
        env,
        [{"id": 1, "path": str(make_jpeg())}],
        preferences={"aihomedesign/program": str(tmp_path / "no such" / "aihd-bridge")},
    )
    assert outcome["storage"]["presets"][0] == "Auto: choose from the photo"  # built-in list
    assert len(outcome["storage"]["presets"]) == 13  # the shipped presets, v3's tools included
    assert "not found" in outcome["messages"][-1] and "no such" in outcome["messages"][-1]


LOGIC_TESTS = LuaTests(
    ("lua5.4", "lua"),
    HARNESS / "test_logic.lua",
    DT / "aihomedesign_lib",
    ROOT / "host-plugin" / "aihomedesign.lrplugin" / "logic",
)


@pytest.fixture(scope="module")
def logic_tests(lua54):
    return LOGIC_TESTS.run(lua54)


@pytest.mark.parametrize("name", LOGIC_TESTS.names())
def test_logic_module(logic_tests, name):
    logic_tests.check(name)


@pytest.mark.parametrize(
    "arg", ["plain", "with space", "it's", 'say "hi"', "$HOME `id` \\ ; & | *", "Größe ü 写真", ""]
)
def test_posix_quoting_survives_the_shell(lua54, arg, tmp_path):
    lib, json_lib = DT / "aihomedesign_lib", ROOT / "host-plugin" / "aihomedesign.lrplugin" / "logic"
    snippet = (
        f"package.path = [[{lib}/?.lua;{json_lib}/?.lua;]] "
        "local A = require 'AihdDarktable' io.write(A.command_line({'printf', '%s', arg[1]}, "
        f"[[{tmp_path}/err]], false))"
    )
    line = subprocess.run(
        [lua54, "-e", snippet.replace("arg[1]", "os.getenv('ARG')")],
        env={"ARG": arg, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert subprocess.run(["sh", "-c", line], capture_output=True, text=True).stdout == arg


def test_plugin_files_parse(lua54):
    luac = shutil.which("luac5.4")
    files = sorted(DT.rglob("*.lua"))
    assert len(files) >= 5
    for f in files:
        subprocess.run(
            [luac, "-p", str(f)] if luac else [lua54, "-e", f"assert(loadfile([[{f}]]))"], check=True
        )
