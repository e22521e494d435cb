"""Symlinked photos and crafted links: a link is followed once, at intake, to the photo it names
then; the spool holds that photo, never the link. Whatever is put in the spool afterwards, a
worker sends only a regular file that still is the photo handed over, and never waits on one."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from bridge.photo.formats import FileProblem, open_photo
from bridge.queue.spool import Spool
from bridge.sandbox import Fault, FaultPlan
from support import wait_until

FAKE_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-not-a-real-key\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fake_key(size: int) -> bytes:
    """Text shaped like a private key, exactly `size` bytes: the size check cannot tell it
    from the photo."""
    return (FAKE_KEY * (size // len(FAKE_KEY) + 1))[:size]


def _crafted(tmp_path, photo: bytes, spool_side: str):
    """The crafted relative link of the attack. From its own folder it names a photo; read
    from the spool folder (~/.local/share/aihd-bridge/spool) it names ~/.ssh/id_rsa, made
    here as `spool_side`: a fake key of the photo's size, or a FIFO. Returns the link and
    the bridge's data dir."""
    user_home = tmp_path / "home"
    data_dir = user_home / ".local" / "share" / "aihd-bridge"
    data_dir.mkdir(parents=True)
    (user_home / ".ssh").mkdir()
    target = user_home / ".ssh" / "id_rsa"
    if spool_side == "fifo":
        os.mkfifo(target)
    else:
        target.write_bytes(_fake_key(len(photo)))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_bytes(photo)  # what the link names from its folder
    folder = tmp_path / "exports" / "a" / "b" / "c"
    folder.mkdir(parents=True)
    links = []
    for n in range(4):  # more than the three workers
        link = folder / f"evil-{n}.jpg"
        os.symlink("../../../../.ssh/id_rsa", link)
        links.append(link)
    return links, data_dir, target


def _received(sandbox) -> set[str]:
    return {r["sha256"] for r in sandbox.state.received if r.get("sha256")}


def test_symlinked_photos_upload_whole(sandbox, start_bridge, photos, tmp_path, report):
    originals = photos(3, "originals")
    selects = tmp_path / "selects"
    selects.mkdir()
    relative = selects / "relative.jpg"
    os.symlink(os.path.join("..", "originals", originals[1].name), relative)
    absolute = selects / "absolute.jpg"
    os.symlink(originals[2], absolute)
    expected = {_sha(p.read_bytes()) for p in originals[1:]}
    # One worker, held 1.5 s by the first photo: the absolute link's original is deleted
    # before any worker reads the linked photos.
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nworkers = 1\n")
    sandbox.state.faults = FaultPlan(script=[Fault(delay=1.5)])
    first = bridge.upload([originals[0]], service_name="service-day-to-dusk")
    linked = bridge.upload([relative, absolute], service_name="service-day-to-dusk")
    originals[2].unlink()
    batch = bridge.wait(linked["batch_id"])
    bridge.wait(first["batch_id"])
    assert [i["state"] for i in batch["items"]] == ["done", "done"], batch["items"]
    assert expected <= _received(sandbox)  # the photos themselves, whole
    report(
        "symlinked photos",
        relative_link="done, whole",
        absolute_link_original_deleted_after_202="done, whole",
    )


def test_crafted_link_never_sends_a_non_photo(sandbox, start_bridge, noisy_jpeg, photos, tmp_path, report):
    links, data_dir, _ = _crafted(tmp_path, noisy_jpeg, "key")
    plain = photos(2)
    bridge = start_bridge(sandbox.url, home=data_dir)
    batch = bridge.wait(bridge.upload(links + plain, service_name="service-day-to-dusk")["batch_id"])
    received = _received(sandbox)
    assert _sha(_fake_key(len(noisy_jpeg))) not in received
    assert received <= {_sha(noisy_jpeg)} | {_sha(p.read_bytes()) for p in plain}
    # The link named the photo when it was handed over: that photo is what was sent.
    assert all(i["state"] == "done" for i in batch["items"]), batch["items"]
    assert not [p for p in (data_dir / "spool").iterdir() if p.is_symlink()]
    report("crafted links", key_sized_link_sent_as="the photo it named at intake", non_photos_sent=0)


@pytest.mark.long(15)
def test_crafted_link_at_a_fifo_never_blocks_a_worker(
    sandbox, start_bridge, noisy_jpeg, photos, tmp_path, report
):
    links, data_dir, fifo = _crafted(tmp_path, noisy_jpeg, "fifo")
    plain = photos(3)
    bridge = start_bridge(sandbox.url, home=data_dir)
    first_id = bridge.upload(links + plain, service_name="service-day-to-dusk")["batch_id"]
    try:
        first = bridge.wait(first_id, timeout=30)
    finally:
        _unblock(fifo)
    assert all(i["state"] == "done" for i in first["items"]), first["items"]

    # What an older bridge left behind: spool entries that are links to the FIFO (items
    # claimed when it was killed, and one done but not yet hashed), a link to a key-sized
    # file, and a regular file rewritten with other bytes of the same size.
    bridge.stop()
    spool = data_dir / "spool"
    stale = {}
    with sqlite3.connect(data_dir / "bridge.sqlite3") as db:
        for n, item in enumerate(first["items"][:6]):
            size = db.execute("SELECT size FROM items WHERE id=?", (item["id"],)).fetchone()[0]
            entry = spool / f"stale-{n}.jpg"
            if n < 4:
                os.symlink("../../../../.ssh/id_rsa", entry)  # the FIFO, from the spool folder
            elif n == 4:
                fake = tmp_path / "home" / "key-sized"
                fake.write_bytes(_fake_key(size))
                os.symlink(fake, entry)
            else:
                entry.write_bytes(_fake_key(size))
            stale[item["id"]] = entry
        for n, (item_id, entry) in enumerate(stale.items()):
            state = "done" if n == 0 else "uploading"
            db.execute(
                "UPDATE items SET state=?, order_id=CASE WHEN ?='done' THEN order_id END, "
                "sha256=NULL, spool_path=? WHERE id=?",
                (state, state, str(entry), item_id),
            )
    sent_before = len(sandbox.state.received)

    bridge = start_bridge(sandbox.url, home=data_dir)
    try:
        more = photos(3, "after-restart")
        after = bridge.wait(bridge.upload(more, service_name="service-day-to-dusk")["batch_id"], timeout=30)
        again = bridge.wait(first_id, timeout=30)
        left = bridge.spool_files()
    finally:
        _unblock(tmp_path / "home" / ".ssh" / "id_rsa")
    assert all(i["state"] == "done" for i in after["items"]), after["items"]
    refused = {i["id"]: i for i in again["items"] if i["id"] in stale and i["state"] == "failed"}
    assert len(refused) == 5, again["items"]  # three claimed links to the FIFO, the key, the rewrite
    assert all("nothing was sent" in i["error"] for i in refused.values()), [
        i["error"] for i in refused.values()
    ]
    assert len(sandbox.state.received) - sent_before == len(more)
    assert not [p for p in left if p.is_symlink() and p.name == "stale-0.jpg"]  # hashed, gone
    report(
        "crafted link at a FIFO", workers_blocked=0, across_restart="refused with reason", non_photos_sent=0
    )


FLIPPER = textwrap.dedent("""
    import os, sys
    link, photo, fifo = sys.argv[1:]
    while True:
        for target in (photo, fifo):
            os.symlink(target, link + ".new")
            os.replace(link + ".new", link)
""")


def test_a_link_flipped_to_a_fifo_never_blocks_intake(tmp_path, noisy_jpeg, report):
    """Another process repoints a link between a photo and a FIFO as fast as it can while
    intake checks and spools it: intake never waits on the FIFO and keeps only the photo."""
    photo, fifo, link = tmp_path / "photo.jpg", tmp_path / "pipe", tmp_path / "link.jpg"
    photo.write_bytes(noisy_jpeg)
    os.mkfifo(fifo)
    os.symlink(photo, link)
    spool = Spool(tmp_path / "spool")
    outcomes = {"kept": 0, "refused": 0}

    def intake(at_least: int, deadline: float) -> None:
        n = 0
        while n < at_least or not all(outcomes.values()) and time.monotonic() < deadline:
            n += 1
            try:
                with open_photo(link, 50_000_000) as (fh, _fmt, _st):
                    spool.take(link, fh, f"i{n}")
                outcomes["kept"] += 1
            except FileProblem:
                outcomes["refused"] += 1
            except Exception as exc:  # anything else is a failure of the test, seen below
                outcomes.setdefault("errors", repr(exc))
                return

    worker = threading.Thread(target=intake, args=(2000, time.monotonic() + 10), daemon=True)
    run_while_flipping(link, photo, fifo, worker)
    assert not worker.is_alive(), f"intake waited on the FIFO after {outcomes}"
    assert "errors" not in outcomes, outcomes
    kept = list(spool.root.iterdir())
    assert len(kept) == outcomes["kept"] > 0 and outcomes["refused"] > 0, outcomes
    assert all(not p.is_symlink() and p.read_bytes() == noisy_jpeg for p in kept)
    report("link flipped to a FIFO", attempts=sum(outcomes.values()), **outcomes, intake_blocked=0)


def run_while_flipping(link, photo, fifo, worker: threading.Thread) -> None:
    """Run `worker` (30 s at most) while another process repoints `link` between `photo` and
    `fifo` as fast as it can; then stop that, and release any reader left on the FIFO."""
    flipper = subprocess.Popen([sys.executable, "-c", FLIPPER, str(link), str(photo), str(fifo)])
    try:
        wait_until(lambda: os.readlink(link) == str(fifo), 10, "the flipper to run", step=0.005)
        worker.start()
        worker.join(30)
    finally:
        flipper.kill()
        flipper.wait()
        _unblock(fifo)


def _unblock(fifo) -> None:
    """Release any reader an old bridge left waiting on the FIFO, so a failing run ends."""

    def release():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # no reader waits: nothing to release
        os.close(fd)

    for _ in range(5):
        threading.Thread(target=release, daemon=True).start()
        time.sleep(0.01)  # the behaviour: releases spread over the watch's looks
