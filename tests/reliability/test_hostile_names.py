"""Names a photo or a host hands over that used to stop the bridge (issue 23): control
characters in a multipart file name, and names too long for a result's file name."""

from __future__ import annotations

from pathlib import Path

from support import jpeg_bytes

CONFIG = "retry_base = 0.05\npoll_interval = 0.05\nprobe_max_wait = 0.5\n"
SUBMIT = {"service_name": "service-day-to-dusk", "submit": "true", "widgets": '{"Sky": "Blue hour"}'}


def _multipart(bridge, name: str, n: int):
    """Written by hand: requests would escape a line break in the name (%0A), an attacker not."""
    photo = jpeg_bytes(exif={0x010E: f"hostile name {n}"})
    fields = b"".join(
        b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (k.encode(), v.encode())
        for k, v in SUBMIT.items()
    )
    head = b'--B\r\nContent-Disposition: form-data; name="image"; filename="%s"\r\n' % name.encode()
    body = fields + head + b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n--B--\r\n"
    return bridge.post("/v1/uploads", data=body, headers={"Content-Type": "multipart/form-data; boundary=B"})


def test_control_characters_in_a_file_name_are_refused_and_the_orders_behind_go_on(
    sandbox, start_bridge, report
):
    bridge = start_bridge(sandbox.url, config=CONFIG)
    # (A raw line break ends the part's header: werkzeug refuses that request as a whole.)
    names = ["a\x00b.jpg", "evil\x1b]0;PWNED\x07.jpg", "tab\there.jpg", "del\x7f.jpg", "bidi\u202egpj.jpg"]
    refused = []
    for n, name in enumerate(names):
        resp = _multipart(bridge, name, n)
        assert resp.status_code == 202, resp.text
        (item,) = resp.json()["items"]
        assert item["state"] == "failed" and "control characters" in item["error"], item
        assert not any(c in item["error"] for c in "\x00\x1b\x07\t\x7f\u202e")
        refused.append(item)
    fine = _multipart(bridge, "fine.jpg", 99).json()
    batch = bridge.wait_orders(fine["batch_id"], timeout=60)
    assert batch["items"][0]["order_state"] == "finished", batch["items"][0]
    report(
        "hostile file names", control_characters_refused=f"{len(refused)} of {len(names)}", orders_stopped=0
    )


def test_a_photo_with_a_long_name_gets_its_results(sandbox, start_bridge, tmp_path, report):
    bridge = start_bridge(sandbox.url, config=CONFIG)
    folder = tmp_path / "long"
    folder.mkdir()
    items = []
    for n, length in enumerate((215, 240, 251)):
        # Two photos whose names differ only past the point where a result name is cut.
        for t, twin in enumerate("ab"):
            photo = folder / ("é" * 10 + "x" * (length - 20 - 5) + twin + ".jpg")  # é: 2 bytes
            assert len(photo.name.encode()) == length
            photo.write_bytes(jpeg_bytes(color=(60 * n, 100 * t, 90)))  # results that differ
            items.append({"path": str(photo), "source_id": f"{length}{twin}"} | SUBMIT | {"submit": True})
    items = [i | {"widgets": {"Sky": "Blue hour"}} for i in items]
    answer = bridge.upload_items(items)
    batch = bridge.wait_orders(answer["batch_id"], timeout=60)
    paths = [Path(r["path"]) for i in batch["items"] for r in i["results"]]
    assert [i["order_state"] for i in batch["items"]] == ["finished"] * 6, [
        i["order_error"] for i in batch["items"]
    ]
    assert len(set(paths)) == 6 and all(p.is_file() and len(p.name.encode()) <= 255 for p in paths)
    assert all(p.name.startswith("é" * 10) for p in paths)
    report("long names", longest_photo_name_bytes=251, results=f"{len(paths)} of 6", all_unique="yes")
