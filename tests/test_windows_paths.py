"""What Windows asks of paths and files, shown here: names with spaces and accents from intake to
results and sidecars (and no text file opened in the locale's code page, which on Windows is
not UTF-8), result paths cut to MAX_PATH, a replace retried while another program holds the
file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bridge.core import replacing
from bridge.queue.result_names import WINDOWS_MAX_PATH, part_name, result_stem
from support import jpeg_bytes, wait_until

# Any open() without an encoding in the bridge is an error: Windows would use its ANSI code page.
STRICT = {"PYTHONWARNDEFAULTENCODING": "1", "PYTHONWARNINGS": "error::EncodingWarning"}


def test_accents_and_spaces_from_intake_to_results_and_sidecars(sandbox, start_bridge, tmp_path):
    user = tmp_path / "Users" / "José Núñez"
    listing = user / "Fotos del piso" / "Calle Mayor 3, 2º"
    listing.mkdir(parents=True)
    photo = listing / "salón con vistas.jpg"
    photo.write_bytes(jpeg_bytes(size=(96, 72)))
    watched = user / "Carpeta vigilada"
    watched.mkdir()
    (user / "AppData").mkdir()
    results = listing / "resultados IA"
    config = (
        "retry_base = 0.05\npoll_interval = 0.05\n\n[[watch]]\n"
        f'dir = {json.dumps(str(watched), ensure_ascii=False)}\nservice = "day-to-dusk"\n'
    )
    bridge = start_bridge(sandbox.url, home=user / "AppData" / "aihd datos", config=config, **STRICT)

    answer = bridge.upload_items(
        [{"path": str(photo), "source_id": "1", "service_name": "item-removal"}],
        submit=True,
        results_dir=str(results),
    )
    (item,) = bridge.wait_orders(answer["batch_id"])["items"]
    assert item["order_state"] == "finished", json.dumps(item, ensure_ascii=False)
    (result,) = item["results"]
    assert Path(result["path"]) == results / "salón con vistas_item-removal_1.jpg"
    assert Path(result["path"]).is_file()

    wait_until(lambda: bridge.get("/v1/watches").json()["watches"][0]["state"] == "watching", 20)
    dropped = watched / "ático luminoso.jpg"
    dropped.write_bytes(jpeg_bytes(size=(96, 72), color=(9, 9, 9)))
    sidecar = watched / "ático luminoso.jpg.aihd.json"
    done = wait_until(
        lambda: sidecar.exists() and json.loads(sidecar.read_text("utf-8"))["state"] == "done" and sidecar,
        what="the sidecar saying done",
    )
    assert json.loads(done.read_text("utf-8"))["file"] == "ático luminoso.jpg"
    assert "ático luminoso.jpg" in done.read_text("utf-8")  # written as UTF-8, not escaped
    bridge.stop()
    output = (bridge.home / "serve-output.txt").read_text("utf-8")
    assert "EncodingWarning" not in output and "Traceback" not in output, output


def test_a_long_result_path_is_cut_to_max_path_on_windows(monkeypatch):
    folder = Path("C:/Users/José Núñez/Pictures/Clients/" + "Calle de Alcalá 123, " * 6 + "results")
    item = {"filename": "salón " * 30 + "final.jpg", "source_path": None, "id": "i_0123456789abcdef"}
    item |= {"service_name": "service-virtual-staging"}
    elsewhere = result_stem(item, 2, folder)  # only a name's 255 bytes bound it
    with monkeypatch.context() as windows:
        windows.setattr(sys, "platform", "win32")
        stem = result_stem(item, 2, folder)
    assert stem.startswith("salón salón") and stem.endswith("_virtual-staging_2")
    assert len(stem) < len(elsewhere)
    longest = max(len(str(folder / part_name(stem, item["id"]))), len(str(folder / f"{stem} (999).jpeg")))
    # as long as it may be (less a space the cut left at the end), no longer
    assert WINDOWS_MAX_PATH - 1 <= longest <= WINDOWS_MAX_PATH
    item["filename"] = "a" * 80 + ". .jpg"  # Windows drops a name's final dots and spaces
    with monkeypatch.context() as windows:
        windows.setattr(sys, "platform", "win32")
        cut = result_stem(item, 2, folder)
    assert cut.removesuffix("_virtual-staging_2").strip("a") == ""


def test_a_replace_refused_while_the_file_is_held_is_tried_again(tmp_path, monkeypatch):
    src, dst = tmp_path / "new.json", tmp_path / "sidecar.json"
    src.write_text("new", "utf-8")
    dst.write_text("old", "utf-8")
    real, refusals, pauses = os.replace, [PermissionError(13, "sharing violation")] * 2, []

    def held(a, b):
        if refusals:
            raise refusals.pop()
        real(a, b)

    monkeypatch.setattr(os, "replace", held)
    with monkeypatch.context() as windows:
        windows.setattr(sys, "platform", "win32")
        replacing.replace(src, dst, sleep=pauses.append)
    assert dst.read_text("utf-8") == "new" and pauses == [replacing.PAUSE] * 2

    src.write_text("newer", "utf-8")
    refusals[:] = [PermissionError(13, "sharing violation")] * 20
    with pytest.raises(PermissionError):
        replacing.replace(src, dst, attempts=3, sleep=pauses.append)
    assert len(pauses) == 4 and dst.read_text("utf-8") == "new"  # it gave up, nothing lost
    refusals[:] = [PermissionError(13, "denied")]
    with pytest.raises(PermissionError):  # POSIX: a refusal is not a passing lock
        replacing.replace(src, dst, sleep=pauses.append)
    assert len(pauses) == 4
