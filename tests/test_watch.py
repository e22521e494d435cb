"""Watched folders end to end: a real bridge (`aihd-bridge serve`) watching a real folder, the
sandbox as the remote, files written the ways photo managers and people write them."""

import hashlib
import json
import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from bridge.sandbox import Fault, FaultPlan
from support import bridge_env, jpeg_bytes, run_cli, wait_until

BASE = "retry_base = 0.05\n"


def watch_config(folder: Path, **options) -> str:
    lines = ["", "[[watch]]", f"dir = {json.dumps(str(folder))}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    return BASE + "\n".join(lines) + "\n"


def sidecar(photo: Path) -> dict | None:
    path = photo.with_name(photo.name + ".aihd.json")
    return json.loads(path.read_text()) if path.exists() else None


def wait_done(photos, timeout: float = 60) -> dict[Path, dict]:
    """Every photo's sidecar once it says done (or failed)."""

    def all_final():
        found = {p: sidecar(p) for p in photos}
        if all(s and s["state"] in ("done", "failed") for s in found.values()):
            return found
        return None

    return wait_until(all_final, timeout, f"{len(photos)} sidecars to say done")


def watch_items(bridge, folder: Path) -> list[dict]:
    resp = bridge.get("/v1/history", params={"client": f"watch:{folder}", "limit": 1000})
    return resp.json()["items"]


def photo_bytes(n: int) -> bytes:
    return jpeg_bytes(exif={0x010E: f"watched photo {n}"})


def big_jpeg(megabytes: int) -> bytes:
    """A valid JPEG of about `megabytes` MB: comment segments of 64 KB after the start marker."""
    body = jpeg_bytes()
    filler = os.urandom(65533)
    segment = b"\xff\xfe" + (65535).to_bytes(2, "big") + filler
    count = megabytes * 1_000_000 // len(segment)
    return body[:2] + segment * count + body[2:]


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "Exports"
    path.mkdir()
    return path


@pytest.mark.long(10)
@pytest.mark.parametrize("poll", [False, True], ids=["file-events", "polling"])
def test_a_20_mb_file_written_slowly_is_sent_once_whole(sandbox, start_bridge, folder, poll):
    bridge = start_bridge(sandbox.url, config=watch_config(folder, service="day-to-dusk", poll=poll))
    wait_until(lambda: bridge.get("/v1/watches").json()["watches"][0]["state"] == "watching", 20)
    data = big_jpeg(20)
    photo = folder / "twilight.jpg"
    with open(photo, "wb") as fh:  # as an exporter does: one handle, 1 MB at a time, with pauses
        for n, start in enumerate(range(0, len(data), 1_000_000)):
            fh.write(data[start : start + 1_000_000])
            fh.flush()
            time.sleep(2.0 if n == 10 else 0.25)  # and one long stall half-way
            assert not sandbox.state.received, "a photo went out while it was being written"
            assert sidecar(photo) is None
    done = wait_done([photo])[photo]
    assert done["state"] == "done" and done["service_name"] == "service-day-to-dusk"
    [got] = sandbox.state.received
    assert got["size"] == len(data) and got["sha256"] == hashlib.sha256(data).hexdigest()
    assert got["order_id"] == done["order_id"]
    assert len(watch_items(bridge, folder)) == 1


def test_200_files_dropped_at_once_go_once_each(sandbox, start_bridge, folder, tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    for n in range(200):
        (staging / f"room-{n:03}.jpg").write_bytes(photo_bytes(n))
    bridge = start_bridge(sandbox.url, config=watch_config(folder, service="virtual-staging"))
    wait_until(lambda: bridge.get("/v1/watches").json()["watches"][0]["state"] == "watching", 20)
    for n, source in enumerate(sorted(staging.iterdir())):  # half moved in, half copied in
        if n % 2:
            shutil.copy(source, folder / source.name)
        else:
            os.rename(source, folder / source.name)
    photos = sorted(folder.glob("room-*.jpg"))
    assert len(photos) == 200
    sidecars = wait_done(photos, timeout=120)
    orders = {s["order_id"] for s in sidecars.values()}
    assert len(orders) == 200 and all(s["state"] == "done" for s in sidecars.values())
    assert len(sandbox.state.orders()) == 200
    by_sha = {o["sha256"]: o["order_id"] for o in sandbox.state.orders()}
    for photo in photos:  # each photo's own order id beside it
        assert by_sha[hashlib.sha256(photo.read_bytes()).hexdigest()] == sidecars[photo]["order_id"]
    items = watch_items(bridge, folder)
    assert sorted(i["source_id"] for i in items) == [p.name for p in photos]


@pytest.mark.long(18)
def test_restarts_midway_send_nothing_twice(sandbox, start_bridge, folder):
    """kill -9 at random moments while 90 photos arrive in waves; restart each time."""
    sandbox.state.faults = FaultPlan(kinds=[Fault(delay=0.05)], rate=1.0)  # uploads take a while
    config = watch_config(folder, service="item-removal")
    rng = random.Random(17)
    photos = []
    bridge = start_bridge(sandbox.url, config=config)
    for wave in range(6):
        for n in range(15):
            photo = folder / f"w{wave}-{n:02}.jpg"
            photo.write_bytes(photo_bytes(wave * 100 + n))
            photos.append(photo)
        time.sleep(rng.uniform(0.3, 2.5))  # settling (1 s quiet), handing over or uploading when killed
        os.kill(bridge.proc.pid, signal.SIGKILL)
        bridge.proc.wait()
        bridge.stop()
        bridge = start_bridge(sandbox.url, home=bridge.home, config=config)
    sidecars = wait_done(photos, timeout=120)
    assert all(s["state"] == "done" for s in sidecars.values())
    items = watch_items(bridge, folder)
    assert sorted(i["source_id"] for i in items) == sorted(p.name for p in photos)  # each once
    flagged = {i["order_id"] for i in items if any("sent twice" in n for n in i["notes"])}
    sent = [o["sha256"] for o in sandbox.state.orders()]
    resent = len(sent) - len(set(sent))
    assert len(set(sent)) == len(photos) and resent <= len(flagged)  # only uploads cut by the kill
    for photo, found in sidecars.items():
        assert found["order_id"] in {i["order_id"] for i in items if i["source_id"] == photo.name}
    bridge.stop()  # and a clean restart finds nothing new
    bridge = start_bridge(sandbox.url, home=bridge.home, config=config)
    extra = folder / "after.jpg"
    extra.write_bytes(photo_bytes(999))
    wait_done([extra])
    assert len(watch_items(bridge, folder)) == len(photos) + 1


def test_a_file_that_is_not_a_photo_is_reported_and_left_alone(sandbox, start_bridge, folder):
    bridge = start_bridge(sandbox.url, config=watch_config(folder, move_done=True))
    notes, fake = folder / "notes.txt", folder / "fake.jpg"
    notes.write_text("call the agent about the garden shots\n")
    fake.write_bytes(b"this is no JPEG at all" * 100)
    (folder / "room.xmp").write_text("<x:xmpmeta/>")  # another program's sidecar: not reported
    good = folder / "kitchen.jpg"
    good.write_bytes(photo_bytes(1))
    done = folder / "done" / "kitchen.jpg"
    wait_until(lambda: sidecar(done) and sidecar(notes) and sidecar(fake), 30, "the three sidecars")
    for thing in (notes, fake):
        report = sidecar(thing)
        assert report["state"] == "failed" and report["order_id"] is None
        assert "not a photo format" in report["error"] and str(thing) in report["error"]
    assert notes.read_text() == "call the agent about the garden shots\n"  # where it was, as it was
    assert fake.read_bytes() == b"this is no JPEG at all" * 100
    assert sidecar(done)["state"] == "done"  # the photo moved to done/, the others stayed
    assert not (folder / "room.xmp.aihd.json").exists()
    assert [o["filename"] for o in sandbox.state.orders()] == ["kitchen.jpg"]
    log = (bridge.home / "logs" / "bridge.log").read_text()
    assert f"left alone, not sent: {notes}: " in log and f"left alone, not sent: {fake}: " in log


def test_renamed_from_a_temporary_name_counts_once(sandbox, start_bridge, folder):
    bridge = start_bridge(sandbox.url, config=watch_config(folder))
    part = folder / "front.jpg.part"  # a browser's or copier's name while writing
    part.write_bytes(photo_bytes(1))
    time.sleep(1.5)  # longer than the quiet time after a close: the name alone keeps it back
    os.rename(part, folder / "front.jpg")
    early = folder / "tmp4711.jpg"  # a temporary name not known as one: sent, then renamed
    early.write_bytes(photo_bytes(2))
    wait_done([early])
    first = sidecar(early)
    os.rename(early, folder / "back.jpg")
    for ignored in ("._front.jpg", ".hidden.jpg", "x.jpg.crdownload", "y.tmp", "z.jpg~"):
        (folder / ignored).write_bytes(photo_bytes(3))
    marker = folder / "marker.jpg"  # written last: once it is done, the rest was looked at
    marker.write_bytes(photo_bytes(4))
    wait_done([folder / "front.jpg", marker])
    moved = wait_until(lambda: sidecar(folder / "back.jpg"), 20, "the sidecar to follow the rename")
    assert moved["order_id"] == first["order_id"] and moved["file"] == "back.jpg"
    assert not (folder / "tmp4711.jpg.aihd.json").exists()
    assert sorted(o["filename"] for o in sandbox.state.orders()) == ["front.jpg", "marker.jpg", "tmp4711.jpg"]
    assert sorted(i["source_id"] for i in watch_items(bridge, folder)) == [
        "front.jpg",
        "marker.jpg",
        "tmp4711.jpg",
    ]
    assert not [
        p for p in folder.iterdir() if p.name.startswith((".", "x.", "y.", "z.")) and "aihd" in p.name
    ]


def test_subfolders_named_after_a_service_or_preset_choose_it(sandbox, start_bridge, folder):
    bridge = start_bridge(sandbox.url, config=watch_config(folder, service="item-removal"))
    wait_until(lambda: bridge.get("/v1/watches").json()["watches"][0]["state"] == "watching", 20)
    layout = {
        "day-to-dusk/front.jpg": "service-day-to-dusk",
        "day-to-dusk/12 Elm St/back.jpg": "service-day-to-dusk",
        "Virtual Staging/living.jpg": "service-ai-virtual-staging",
        "service-creative-designer/den.jpg": "service-creative-designer",
        "12 Elm St/image-enhancement/hall.jpg": "service-image-enhancement",
        "12 Elm St/kitchen.jpg": "service-item-removal",  # no such name: the watch's own service
        "top.jpg": "service-item-removal",
    }
    for n, rel in enumerate(layout):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(photo_bytes(n))
    sidecars = wait_done([folder / rel for rel in layout])
    for rel, service in layout.items():
        assert sidecars[folder / rel]["service_name"] == service, rel
    sent = {o["filename"]: o["service_name"] for o in sandbox.state.orders()}
    assert sent == {Path(rel).name: service for rel, service in layout.items()}


def test_same_bytes_again_is_not_new_but_new_bytes_are(sandbox, start_bridge, folder):
    bridge = start_bridge(sandbox.url, config=watch_config(folder, service="day-to-dusk"))
    photo = folder / "garden.jpg"
    photo.write_bytes(photo_bytes(1))
    first = wait_done([photo])[photo]
    photo.write_bytes(photo_bytes(1))  # exported again, unchanged: new mtime, same bytes
    marker = folder / "marker.jpg"
    marker.write_bytes(photo_bytes(2))
    wait_done([marker])
    assert [i["source_id"] for i in watch_items(bridge, folder)].count("garden.jpg") == 1
    photo.write_bytes(photo_bytes(3))  # edited and exported again: a new photo
    wait_until(
        lambda: sidecar(photo)["order_id"] != first["order_id"] and sidecar(photo)["state"] == "done", 30
    )
    assert [i["source_id"] for i in watch_items(bridge, folder)].count("garden.jpg") == 2
    assert len(sandbox.state.orders()) == 3


def test_a_folder_not_there_yet_is_watched_once_it_is(sandbox, start_bridge, tmp_path):
    later = tmp_path / "usb-drive" / "Exports"
    bridge = start_bridge(sandbox.url, config=watch_config(later))
    [view] = bridge.get("/v1/watches").json()["watches"]
    assert view["state"] == "missing" and "not there" in view["problem"]
    later.mkdir(parents=True)
    (later / "plugged.jpg").write_bytes(photo_bytes(1))  # there before the watch resumes
    assert wait_done([later / "plugged.jpg"], timeout=40)[later / "plugged.jpg"]["state"] == "done"


def test_watch_command_as_a_new_user_runs_it(sandbox, start_bridge, folder, tmp_path):
    home = tmp_path / "home"
    env = bridge_env(home, sandbox.url)
    saved = run_cli("watch", folder, "--service", "day-to-dusk", env=env)  # no bridge yet
    assert saved.returncode == 0, saved.stderr
    assert "saved" in saved.stdout and "aihd-bridge serve" in saved.stdout
    bridge = start_bridge(sandbox.url, home=home, config=BASE + (home / "config.toml").read_text())
    photo = folder / "IMG_0001.jpg"
    shutil.copy(_photo_file(tmp_path), photo)
    assert wait_done([photo])[photo]["service_name"] == "service-day-to-dusk"

    other = tmp_path / "Capture One"
    other.mkdir()
    added = run_cli("watch", other, "--preset", "auto", "--submit", "--results", tmp_path / "out", env=env)
    assert added.returncode == 0, added.stderr
    assert f"watching {other} for preset auto (file events)" in added.stdout
    listed = run_cli("watch", "--list", env=env).stdout
    assert f"{folder}  day-to-dusk  watching" in listed and f"{other}  preset auto  watching" in listed
    config = (home / "config.toml").read_text()
    assert "retry_base = 0.05" in config and "submit = true" in config  # the user's lines stay
    c1 = other / "c1.jpg"
    c1.write_bytes(photo_bytes(7))
    got = wait_done([c1])[c1]
    assert got["submit"] is True and got["results_dir"] == str(tmp_path / "out")

    bridge.stop()  # watched again at the next start, from config.toml
    bridge = start_bridge(sandbox.url, home=home, config=config)
    assert {w["dir"] for w in bridge.get("/v1/watches").json()["watches"]} == {str(folder), str(other)}
    removed = run_cli("watch", "--remove", other, env=env)
    assert removed.returncode == 0 and f"no longer watching {other}" in removed.stdout
    assert [w["dir"] for w in bridge.get("/v1/watches").json()["watches"]] == [str(folder)]
    assert str(other) not in (home / "config.toml").read_text()
    again = run_cli("watch", "--remove", other, env=env)
    assert again.returncode == 1 and "is not watched" in again.stderr


def test_watch_refuses_what_cannot_work(sandbox, start_bridge, folder, tmp_path):
    bridge = start_bridge(sandbox.url)
    env = bridge.env
    cases = {
        (str(tmp_path / "nowhere"),): "no such folder",
        (str(folder), "--preset", "no-such-preset"): "unknown preset 'no-such-preset'",
        (str(bridge.home),): "holds the bridge's own data",
        (str(tmp_path),): "holds the bridge's own data",  # the data dir is inside it
        ("/",): "top of the file system",
    }
    for args, message in cases.items():
        proc = run_cli("watch", *args, env=env)
        assert proc.returncode == 1 and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    bad = run_cli("watch", folder, "--service", "dusk-ish", env=env)
    assert bad.returncode == 2 and "unknown service" in bad.stderr
    assert bridge.get("/v1/watches").json()["watches"] == []
    for body in ({"dir": "relative/path"}, {"dir": str(folder), "service": "x", "preset": "auto"}, [], {}):
        resp = bridge.post("/v1/watches", json=body)
        assert resp.status_code == 400, (body, resp.text)


def _photo_file(tmp_path: Path) -> Path:
    path = tmp_path / "camera-card.jpg"
    path.write_bytes(photo_bytes(42))
    return path
