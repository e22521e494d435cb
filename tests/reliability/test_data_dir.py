"""The data dir holds clients' photos, their history, logs and the token: once the bridge has
started, no one but its owner can read any of it, whatever created it first."""

import stat
from pathlib import Path

from bridge.queue.store import Store
from bridge.sandbox import Fault, FaultPlan


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _open_to_others(home: Path) -> list[str]:
    """Folders and files in the data dir that group or others may read: the folders the
    bridge writes into, and every file there that is not a hard link to a client's own file."""
    found = []
    for folder in (home, home / "logs", home / "spool"):
        if _mode(folder) & 0o077:
            found.append(f"{folder} {_mode(folder):o}")
        for path in folder.iterdir():
            st = path.lstat()
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and _mode(path) & 0o077:
                found.append(f"{path} {_mode(path):o}")
    return found


def test_data_dir_is_private_whatever_made_it_first(sandbox, start_bridge, photos, tmp_path, report):
    # As `doctor` or `plugin install` leave it under a 022 umask: 0755 folders, 0644 files,
    # and a database and log from an earlier run.
    home = tmp_path / "bridge-home"
    for folder in (home, home / "logs", home / "spool", home / "lightroom"):
        folder.mkdir()
        folder.chmod(0o755)
    Store(home / "bridge.sqlite3").close()
    (home / "logs" / "bridge.log").write_text("an earlier run\n")
    for path in (home / "bridge.sqlite3", home / "logs" / "bridge.log"):
        path.chmod(0o644)
    before = len(_open_to_others(home))

    bridge = start_bridge(sandbox.url, home=home)  # also writes config.toml, 0644
    sandbox.state.faults = FaultPlan(script=[Fault(delay=2.0)] * 3)  # copies stay a while
    by_path = bridge.upload(photos(1))  # hard-linked: the client's own file, mode and all
    body = photos(1, "sent")[0].read_bytes()
    sent = bridge.post(
        "/v1/uploads", files={"image": ("sent.jpg", body)}, data={"service_name": "service-day-to-dusk"}
    )
    assert sent.status_code == 202, sent.text
    copy = next(p for p in (home / "spool").iterdir() if p.stat().st_nlink == 1)  # the upload's
    open_now = _open_to_others(home)
    modes = {
        name: _mode(home / name)
        for name in (
            "bridge.sqlite3",
            "bridge.sqlite3-wal",
            "bridge.sqlite3-shm",
            "bridge.json",
            "config.toml",
            "logs/bridge.log",
        )
    }
    copy_mode = _mode(copy)
    bridge.wait(by_path["batch_id"])
    bridge.wait(sent.json()["batch_id"])
    assert _mode(home) == 0o700
    assert set(modes.values()) == {0o600}, modes
    assert copy_mode == 0o600
    assert not open_now, open_now
    report(
        "data dir privacy",
        open_to_others_before=before,
        after_start=len(open_now),
        data_dir="0700",
        files="0600 (db, WAL, SHM, log, bridge.json, spool copies)",
    )
