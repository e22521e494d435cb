"""What a folder can do to the watches (issue 23): a folder nested too deep for watchdog's
walk, a link flipped to a FIFO while the watch reads it, a whole folder of photos moved in."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
import requests
from test_symlinks import run_while_flipping

from bridge.watch.journal import NotTheFileSeen, sha256_of
from bridge.watch.settle import stat_key
from support import bridge_env, jpeg_bytes, refusing_port, run_cli, wait_until

DEPTH = 1_100


def _config(*folders: Path, poll: bool = False) -> str:
    tables = "".join(
        f'\n[[watch]]\ndir = {json.dumps(str(f))}\nservice = "day-to-dusk"\npoll = {str(poll).lower()}\n'
        for f in folders
    )
    return "retry_base = 0.05\n" + tables


def _nest(top: Path, depth: int) -> Path:
    """`top/d/d/.../d`, made one level at a time (os.makedirs recurses, and dies of it)."""
    top.mkdir()
    path = top
    for _ in range(depth):
        path = path / "d"
        path.mkdir()
    return path


@pytest.fixture
def nests():
    """Deep folders made by a test, removed after it (and after its bridge: ask for this
    fixture before `start_bridge`) one level at a time: pytest's own clean-up (shutil.rmtree)
    recurses, dies of them, and leaves them behind for every later run to stumble on."""
    made: list[Path] = []
    yield made
    pending = [str(top) for top in made if top.exists()]
    while pending:  # a folder is scanned again once its subfolders are gone, then removed
        with os.scandir(pending[-1]) as found:
            entries = list(found)
        folders = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        if folders:
            pending.extend(folders)
        else:
            os.rmdir(pending.pop())


def _views(bridge) -> dict[str, dict]:
    return {w["dir"]: w for w in bridge.get("/v1/watches").json()["watches"]}


def _sent(sandbox, name: str) -> bool:
    return any(r["filename"] == name for r in sandbox.state.received)


@pytest.mark.long(18)
@pytest.mark.parametrize("poll", [False, True], ids=["file-events", "polling"])
def test_a_folder_too_deep_for_the_watcher_stops_no_watch(
    nests, sandbox, start_bridge, tmp_path, poll, report
):
    """inotify: one reader thread serves every folder, and the deep folder kills it, so every
    watch loses its events; polling: the deep folder's own poller dies. Either way each watch
    notices, says so, and still sends what arrives."""
    first, second, elsewhere = tmp_path / "Exports", tmp_path / "Scans", tmp_path / "elsewhere"
    for f in (first, second, elsewhere):
        f.mkdir()
    bridge = start_bridge(sandbox.url, config=_config(first, second, poll=poll))
    mode = "polling" if poll else "events"
    wait_until(lambda: all(w["mode"] == mode for w in _views(bridge).values()), 20, "the watches")
    _nest(elsewhere / "deep", DEPTH)
    os.rename(elsewhere / "deep", first / "deep")  # then watchdog walks 1,100 levels, and dies
    nests.append(first / "deep")
    stopped = [first] if poll else [first, second]
    views = wait_until(
        lambda: (v := _views(bridge)) and all(v[str(f)]["mode"] == "scanning" for f in stopped) and v,
        20,
        "the watches to notice their file events stopped",
    )
    for folder in stopped:
        view = views[str(folder)]
        assert "file events stopped" in view["problem"] and view["state"] == "watching", view
    started = time.monotonic()
    (second / "after.jpg").write_bytes(jpeg_bytes(exif={0x010E: f"after the watcher died {poll}"}))
    (first / "deep" / "inside.jpg").write_bytes(jpeg_bytes(exif={0x010E: f"in the deep folder {poll}"}))
    wait_until(lambda: _sent(sandbox, "after.jpg") and _sent(sandbox, "inside.jpg"), 30, "both photos sent")
    took = time.monotonic() - started
    env = bridge_env(bridge.home, sandbox.url, AIHD_PORT="0")
    listed = run_cli("watch", "--list", env=env).stdout
    assert listed.count("file events stopped") == len(stopped), listed
    status = run_cli("status", env=env).stdout
    assert f"watch {first}: file events stopped" in status, status
    link = re.search(r"http://\S+\?code=\S+", run_cli("open", "--no-browser", env=env).stdout).group(0)
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(link, timeout=10).text  # the code traded for a cookie, then the page
    assert f"Watched folder {first}</strong>: file events stopped" in page
    report(
        f"deep folder ({mode})",
        depth=DEPTH,
        watches_that_noticed=f"{len(stopped)} of {len(stopped)}",
        photo_sent_after_s=round(took, 1),
        limit_s=30,
    )


def test_a_link_flipped_to_a_fifo_never_holds_the_watch(tmp_path, noisy_jpeg, report):
    """Another process repoints a link between a photo and a FIFO while the watch looks at it
    (stat) and reads it (hash): the read never waits on the FIFO and hashes only the photo."""
    photo, fifo, link = tmp_path / "photo.jpg", tmp_path / "pipe", tmp_path / "link.jpg"
    photo.write_bytes(noisy_jpeg)
    os.mkfifo(fifo)
    os.symlink(photo, link)
    key = stat_key(str(photo))
    assert key is not None
    outcomes = {"hashed": 0, "refused": 0}

    def look(at_least: int) -> None:
        n = 0
        while n < at_least or not all(outcomes.values()):
            n += 1
            seen = stat_key(str(link))  # None while it names the FIFO; then the race is on
            try:
                sha256_of(str(link), seen or key)
                outcomes["hashed"] += 1
            except (NotTheFileSeen, FileNotFoundError):
                outcomes["refused"] += 1

    worker = threading.Thread(target=look, args=(2000,), daemon=True)
    run_while_flipping(link, photo, fifo, worker)
    assert not worker.is_alive(), f"the watch waited on the FIFO after {outcomes}"
    assert outcomes["hashed"] > 0 and outcomes["refused"] > 0, outcomes
    report("watch: link to a FIFO", looks=sum(outcomes.values()), **outcomes, watch_blocked=0)


@pytest.fixture
def unreachable_api():
    """An API URL that refuses connections (before `start_bridge` in a test: it outlives the bridge)."""
    with refusing_port() as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.long(25)
def test_a_folder_of_photos_moved_in_is_looked_through_at_once(
    unreachable_api, start_bridge, tmp_path, report
):
    folder, staging = tmp_path / "Exports", tmp_path / "card"
    folder.mkdir()
    (staging / "DCIM" / "100").mkdir(parents=True)
    count = 10_000
    tiny = jpeg_bytes(size=(8, 8))
    for n in range(count):
        (staging / "DCIM" / "100" / f"IMG_{n:05}.jpg").write_bytes(
            tiny[:-2] + n.to_bytes(4, "big") + tiny[-2:]
        )
    # An API that cannot be reached (a closed port of this machine): the workers wait instead of
    # uploading 10,000 photos, so what is measured is the watch and intake alone.
    bridge = start_bridge(unreachable_api, config=_config(folder))
    wait_until(lambda: _views(bridge)[str(folder)]["mode"] == "events", 20, "file events")
    started = time.monotonic()
    os.rename(staging, folder / "card")
    wait_until(lambda: _views(bridge)[str(folder)]["files_sent"] == count, 120, f"{count} files handed over")
    took = time.monotonic() - started
    report("folder moved in", files=count, all_handed_over_s=round(took, 1), before="0 in 120 s")


def test_a_link_to_a_photo_outside_the_watched_folder_is_not_sent(sandbox, start_bridge, tmp_path, report):
    folder, private = tmp_path / "Shared", tmp_path / "private"
    folder.mkdir()
    private.mkdir()
    secret = private / "not-for-sharing.jpg"
    secret.write_bytes(jpeg_bytes(exif={0x010E: "private"}))
    (folder / "own.jpg").write_bytes(jpeg_bytes(exif={0x010E: "shared"}))
    (folder / "picks").mkdir()
    bridge = start_bridge(sandbox.url, config=_config(folder))
    wait_until(lambda: _views(bridge)[str(folder)]["state"] == "watching", 20, "the watch")
    os.symlink(secret, folder / "absolute.jpg")
    os.symlink("../../private/not-for-sharing.jpg", folder / "picks" / "relative.jpg")
    os.symlink("../own.jpg", folder / "picks" / "inside.jpg")  # a link within the folder is fine
    links = [folder / "absolute.jpg", folder / "picks" / "relative.jpg"]

    def sidecars():
        found = [folder / "own.jpg.aihd.json", *(p.with_name(p.name + ".aihd.json") for p in links)]
        seen = all(p.is_file() for p in found) and [json.loads(p.read_text()) for p in found]
        # own.jpg's sidecar is written when it is queued, and again once it is sent
        return seen and seen[0]["state"] in ("done", "failed") and seen

    own, *refused = wait_until(sidecars, 30, "the sidecars")
    assert own["state"] == "done"
    for side in refused:
        assert side["state"] == "failed" and "outside the watched folder; not sent" in side["error"], side
    assert {r["filename"] for r in sandbox.state.received} <= {"own.jpg", "inside.jpg"}
    report("watch: links outside", refused=f"{len(refused)} of {len(links)}", sent_from_outside=0)


def test_a_link_flipped_outside_while_it_is_handed_over_sends_nothing_from_outside(tmp_path, report):
    """Another process repoints a link in a watched folder between a photo inside it and one
    outside as fast as it can, while intake checks where it leads and opens it: only the photo
    inside is ever kept."""
    from bridge.core.config import Settings
    from bridge.photo.rules import Rules
    from bridge.queue.intake import Intake
    from bridge.queue.spool import Spool
    from bridge.queue.store import Store

    folder, outside = tmp_path / "Shared", tmp_path / "private"
    folder.mkdir()
    outside.mkdir()
    inner, secret, link = folder / "own.jpg", outside / "secret.jpg", folder / "link.jpg"
    inner.write_bytes(jpeg_bytes(exif={0x010E: "inside"}))
    secret.write_bytes(jpeg_bytes(exif={0x010E: "outside"}))
    os.symlink(inner, link)
    store = Store(tmp_path / "db.sqlite3")
    spool = Spool(tmp_path / "spool")
    intake = Intake(Settings(home=tmp_path), store, spool, Rules.load(tmp_path))
    outcomes = {"kept": 0, "refused": 0}

    def hand_over(at_least: int) -> None:
        n = 0
        while n < at_least or not all(outcomes.values()):
            n += 1
            fields = {"path": str(link), "service_name": "day-to-dusk", "force": True}
            _, (item,) = intake.from_json({"items": [fields]}, within=folder)
            outcomes["refused" if item.error else "kept"] += 1

    worker = threading.Thread(target=hand_over, args=(2000,), daemon=True)
    try:
        run_while_flipping(link, inner, secret, worker)
    finally:
        store.close()
    assert not worker.is_alive() and outcomes["kept"] > 0 and outcomes["refused"] > 0, outcomes
    kept = {p.read_bytes() for p in spool.root.iterdir()}
    assert kept == {inner.read_bytes()}, "a photo from outside the folder was kept"
    report("watch: link flipped outside", hand_overs=sum(outcomes.values()), **outcomes, sent_from_outside=0)
