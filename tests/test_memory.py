"""Uploads stream: sending a 45 MB file costs a few MB of memory, not 45."""

import json
import subprocess
import sys
import textwrap

from support import CANARY_KEY

SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from bridge.remote.api import RemoteApi
    from bridge.remote.client import ApiClient
    from bridge.photo.formats import check_file, prepared

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024

    url, key, small, big = sys.argv[1:]
    client = RemoteApi(ApiClient(url, key), "v1")
    for path in (small, big):
        fmt, _ = check_file(Path(path), 50_000_000)
        if path == big:
            idle = status("VmRSS")
        with prepared(Path(path), fmt) as up:
            order = client.upload(up, "service-image-enhancement").order_id
    print(json.dumps({"idle": idle, "peak": status("VmHWM"), "order": order}))
""")


def test_peak_memory_does_not_grow_with_file_size(sandbox, tmp_path, make_jpeg):
    big = tmp_path / "big.tif"
    with big.open("wb") as fh:
        fh.write(b"II*\x00\x08\x00\x00\x00\x00\x00")
        fh.seek(45_000_000 - 1)
        fh.write(b"\x00")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, sandbox.url, CANARY_KEY, make_jpeg(), big],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(out.stdout)
    assert figures["order"] == sandbox.state.orders()[-1]["order_id"]
    assert sandbox.state.orders()[-1]["size"] == 45_000_000
    grew = figures["peak"] - figures["idle"]
    assert grew < 8_000_000, f"uploading 45 MB grew memory by {grew / 1e6:.1f} MB"
