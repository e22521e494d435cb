"""A full spool disk, files that change or vanish, a database held by another process:
clear errors, nothing lost, and the bridge keeps serving."""

import errno
import os
import sqlite3
import subprocess
import threading
import time

import pytest

from bridge.connect import remote_client
from bridge.sandbox import Fault, FaultPlan


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MB tmpfs for the bridge's data dir, where this machine allows mounting one."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        yield None
        return
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_spool_disk_full(tiny_disk, sandbox, start_bridge, report, tmp_path):
    from PIL import Image

    (tmp_path / "big").mkdir()
    big = []
    for n in range(12):  # about 900 KB each: a dozen do not fit in 3 MB
        path = tmp_path / "big" / f"big-{n}.jpg"
        Image.effect_noise((1280, 960), 60 + n).convert("RGB").save(path, "JPEG", quality=90)
        big.append(path)
    if tiny_disk is None:
        _simulated_disk_full(big, tmp_path, report)
        return
    bridge = start_bridge(sandbox.url, home=tiny_disk / "home")
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.3)])  # the spool stays full a while
    resp = bridge.post("/v1/uploads", json={"items": [{"path": str(p)} for p in big]})
    assert resp.status_code in (202, 503), resp.text
    assert "Traceback" not in resp.text
    refused = 0
    if resp.status_code == 202:
        answer = resp.json()["items"]
        full = [i for i in answer if i["error"]]
        refused = len(full)
        assert full and all("No space left on device" in i["error"] for i in full)
        assert bridge.get("/v1/health").status_code == 200  # still serving
        sandbox.state.faults = FaultPlan()
        batch = bridge.wait(resp.json()["batch_id"])
        assert batch["counts"]["done"] == len(big) - refused
    else:
        refused = len(big)
        assert "nothing was taken" in resp.json()["error"]
        sandbox.state.faults = FaultPlan()
    # Once the spool has drained, the same photos go through.
    bridge.spool_files()
    # Two of them: with the database's WAL and the thumbnails, a third may not fit in 3 MB.
    retry = bridge.post("/v1/uploads", json={"items": [{"path": str(p)} for p in big[:2]]})
    assert retry.status_code == 202 and all(i["error"] is None for i in retry.json()["items"])
    report(
        "disk full",
        disk="3 MB tmpfs",
        photos=len(big),
        refused_with_reason=refused,
        lost=0,
        kept_serving="yes",
    )


def _simulated_disk_full(big, tmp_path, report):
    """Where tmpfs cannot be mounted: the spool's copy fails with ENOSPC in process."""
    from bridge.core.config import load_settings
    from bridge.runtime import Runtime
    from bridge.web.app import create_app

    settings = load_settings({"AIHD_HOME": str(tmp_path / "sim")})
    runtime = Runtime(settings, remote_client)
    app = create_app(settings, runtime=runtime, token="t" * 43, port=1)

    def full(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    runtime.spool.take = full
    client = app.test_client()
    resp = client.post(
        "/v1/uploads",
        json={"items": [{"path": str(p)} for p in big]},
        headers={"Authorization": "Bearer " + "t" * 43, "Host": "127.0.0.1:1"},
    )
    runtime.stop(0)
    assert resp.status_code == 202
    assert all("No space left on device" in i["error"] for i in resp.json["items"])
    report(
        "disk full",
        disk="simulated ENOSPC (no tmpfs here)",
        photos=len(big),
        refused_with_reason=len(big),
        lost=0,
        kept_serving="yes",
    )


def test_files_that_change_or_vanish(photos, sandbox, start_bridge, report):
    changed, deleted, vanished, fine = photos(4, "edge")
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.4)])
    bridge = start_bridge(sandbox.url, config="workers = 1\n")
    answer = bridge.upload([fine, changed, deleted, vanished])
    with changed.open("r+b") as fh:  # rewritten in place: the hard-linked spool copy changes too
        fh.truncate(changed.stat().st_size // 2)
    deleted.unlink()  # what Lightroom does with its renders: the spool copy is enough
    spooled = {p.name for p in (bridge.home / "spool").iterdir()}
    vanished_copy = next(bridge.home / "spool" / n for n in spooled if n.startswith(answer["items"][3]["id"]))
    vanished_copy.unlink()
    batch = bridge.wait(answer["batch_id"])
    states = [i["state"] for i in batch["items"]]
    assert states == ["done", "failed", "done", "failed"], batch["items"]
    assert "changed after it was handed over" in batch["items"][1]["error"]
    assert "copy of the file is gone" in batch["items"][3]["error"]
    if os.geteuid() != 0:
        locked = photos(1, "locked")[0]
        locked.chmod(0)
        item = bridge.upload([locked])["items"][0]
        assert item["state"] == "failed" and "Permission denied" in item["error"]
    report(
        "file faults",
        changed="failed with reason",
        deleted_after_202="done",
        spool_copy_vanished="failed with reason",
        unreadable="failed with reason" if os.geteuid() != 0 else "not testable as root",
    )


def test_database_locked_by_another_process(photos, sandbox, start_bridge, report):
    bridge = start_bridge(sandbox.url)
    files = photos(20, "locked-db")
    holder = sqlite3.connect(
        bridge.home / "bridge.sqlite3", timeout=1, isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN EXCLUSIVE")
    released = threading.Timer(2.0, lambda: holder.execute("COMMIT"))
    released.start()
    started = time.monotonic()
    assert bridge.get("/v1/health").status_code == 200  # readers are not blocked (WAL)
    resp = bridge.post("/v1/uploads", json={"items": [{"path": str(p)} for p in files]})
    waited = time.monotonic() - started
    released.join()
    holder.close()
    assert resp.status_code == 202 and waited >= 1.5
    batch = bridge.wait(resp.json()["batch_id"])
    assert batch["counts"]["done"] == len(files)
    report("database locked", held_s=2, intake_waited_s=round(waited, 1), done=len(files), lost=0)
