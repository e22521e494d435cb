"""The watch folder's parts on their own: names, when a file is complete, config.toml edits."""

import os
import tomllib
from pathlib import Path

import pytest

from bridge.connect import remote_client
from bridge.core.config import ConfigError, WatchEntry, load_settings
from bridge.photo.rules import Rules
from bridge.watch.entries import drop_watch, entry_problem, save_watch
from bridge.watch.names import folder_choice, skipped
from bridge.watch.settle import Settler


@pytest.mark.parametrize(
    "path",
    [
        "._IMG_1.jpg",
        ".DS_Store",
        ".hidden/IMG_1.jpg",
        "IMG_1.jpg.part",
        "IMG_1.JPG.crdownload",
        "IMG_1.tmp",
        "IMG_1.jpg~",
        "~$IMG.jpg",
        "IMG_1.jpg.aihd.json",
        "IMG_1.xmp",
        "Thumbs.db",
        "@eaDir/IMG_1.jpg",
        "done/IMG_1.jpg",
    ],
)
def test_names_the_watch_leaves_alone(path):
    assert skipped(tuple(path.split("/")))


@pytest.mark.parametrize("path", ["IMG_1.jpg", "house/IMG_1.CR3", "day-to-dusk/done/x.png", "notes.txt"])
def test_names_the_watch_takes(path):
    assert not skipped(tuple(path.split("/")))


def test_the_innermost_subfolder_naming_a_service_or_preset_chooses():
    presets = Rules.load().presets
    assert folder_choice(("day-to-dusk", "12 Elm St"), presets) == {"preset": "day-to-dusk"}
    assert folder_choice(("Item Removal",), presets) == {"service_name": "service-item-removal"}
    assert folder_choice(("day-to-dusk", "auto"), presets) == {"preset": "auto"}
    assert folder_choice(("12 Elm St", "kitchen"), presets) == {}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_closed_file_is_ripe_after_the_quiet_time_an_open_one_only_when_stable(tmp_path):
    clock = Clock()
    settler = Settler(quiet=1.0, stable=3.0, clock=clock)
    closed, growing = tmp_path / "closed.jpg", tmp_path / "growing.jpg"
    closed.write_bytes(b"x" * 10)
    growing.write_bytes(b"x" * 10)
    settler.seen(str(closed), closed=True)
    settler.seen(str(growing), closed=False)
    clock.now += 1.0
    assert settler.ripe() == [str(closed)]
    for n in range(5):  # written to every 2 s, never stable for 3 s, no event seen meanwhile
        with open(growing, "ab") as fh:
            fh.write(b"y")
        os.utime(growing, ns=(n * 10**9, n * 10**9))
        clock.now += 3.0
        assert settler.ripe() == []
    clock.now += 2.9
    assert settler.ripe() == []
    clock.now += 0.1
    assert settler.ripe() == [str(growing)] and len(settler) == 0


def test_a_file_changed_after_its_close_waits_the_long_way_and_a_gone_one_is_dropped(tmp_path):
    clock = Clock()
    settler = Settler(quiet=1.0, stable=3.0, clock=clock)
    photo, gone, empty = tmp_path / "a.jpg", tmp_path / "b.jpg", tmp_path / "c.jpg"
    photo.write_bytes(b"x")
    gone.write_bytes(b"x")
    empty.touch()
    for path in (photo, gone, empty):
        settler.seen(str(path), closed=True)
    photo.write_bytes(b"xx")  # reopened and written without an event reaching us
    gone.unlink()
    clock.now += 1.0
    assert settler.ripe() == [] and len(settler) == 2  # an empty file closed is a placeholder
    clock.now += 3.0
    assert sorted(settler.ripe()) == [str(photo), str(empty)]


def test_watches_are_added_and_removed_in_config_toml_keeping_the_rest(tmp_path):
    config = tmp_path / "config.toml"
    original = (
        "# my settings\nworkers = 2\n\n[[watch]]  # the NAS\n"
        'dir = "/srv/nas"\npoll = true\n\n# keep this comment\n'
    )
    config.write_text(original)
    exports = tmp_path / "Exports"
    save_watch(tmp_path, WatchEntry(exports, service="service-day-to-dusk", submit=True))
    quoted = tmp_path / 'odd "name" \\ here'
    save_watch(tmp_path, WatchEntry(quoted, preset="auto"))
    s = load_settings({"AIHD_HOME": str(tmp_path)})
    assert [w.dir for w in s.watches] == [Path("/srv/nas"), exports, quoted] and s.workers == 2
    assert s.watches[1].submit and s.watches[1].line == 10
    save_watch(tmp_path, WatchEntry(exports, service="service-item-removal"))  # replaces it
    assert [w.service for w in load_settings({"AIHD_HOME": str(tmp_path)}).watches] == [
        None,
        None,
        "service-item-removal",
    ]
    assert drop_watch(tmp_path, Path("/srv/nas")).poll
    assert drop_watch(tmp_path, Path("/srv/nas")) is None
    text = config.read_text()
    assert text.startswith("# my settings\nworkers = 2\n\n# keep this comment\n")
    assert [w["dir"] for w in tomllib.loads(text)["watch"]] == [str(quoted), str(exports)]
    assert oct(config.stat().st_mode & 0o777) == "0o600"


def test_a_broken_config_toml_is_never_overwritten(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("workers = \n")
    with pytest.raises(ConfigError, match="line 1"):
        save_watch(tmp_path, WatchEntry(tmp_path / "x"))
    assert config.read_text() == "workers = \n"


def test_what_cannot_be_watched(tmp_path):
    rules, home = Rules.load(), tmp_path / "data"
    assert entry_problem(WatchEntry(tmp_path / "x"), rules, home) is None
    assert "no such folder" in entry_problem(WatchEntry(tmp_path / "x"), rules, home, must_exist=True)
    assert "unknown service" in entry_problem(WatchEntry(tmp_path, service="dusk-ish", line=7), rules, home)
    assert "(config.toml line 7)" in entry_problem(WatchEntry(tmp_path, preset="nope", line=7), rules, home)
    assert "bridge's own data" in entry_problem(WatchEntry(tmp_path), rules, home)
    assert "bridge's own data" in entry_problem(WatchEntry(home / "spool"), rules, home)


def test_a_folder_moved_in_as_one_event_is_looked_through(tmp_path):
    """macOS and Windows report a folder moved in as one event for the folder, none for its
    files; inotify's own walk of it may die (a deep folder). Its files are looked at at once."""
    from watchdog.events import DirMovedEvent

    from bridge.runtime import Runtime
    from bridge.watch.folder import WatchedFolder
    from bridge.watch.watches import _Handler

    watched, card = tmp_path / "Exports", tmp_path / "card"
    (card / "DCIM" / ".trash").mkdir(parents=True)
    watched.mkdir()
    for n in range(50):
        (card / "DCIM" / f"IMG_{n}.jpg").write_bytes(b"\xff\xd8 not yet checked")
    (card / "DCIM" / ".trash" / "old.jpg").write_bytes(b"hidden folders are left alone")
    settings = load_settings({"AIHD_HOME": str(tmp_path / "home")})
    runtime = Runtime(settings, remote_client)
    try:
        folder = WatchedFolder(
            WatchEntry(watched),
            store=runtime.store,
            intake=runtime.intake,
            rules=runtime.rules,
            wake=lambda: None,
        )  # no observer: the events are the test's
        folder.state = "watching"
        folder.scan()  # the first look, done: the next full one is minutes away
        os.rename(card, watched / "card")
        _Handler(folder).dispatch(DirMovedEvent(str(tmp_path / "card"), str(watched / "card")))
        folder.tick()
        assert len(folder.settler) == 50
    finally:
        runtime.stop(0)
