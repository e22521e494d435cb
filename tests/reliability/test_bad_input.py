"""Bad input: the local API fuzzed from its own OpenAPI document, hand-written nasty requests,
and the metadata reader fed mutated samples. No 5xx, no traceback, only documented errors."""

import json
import os
import random
import time

import hypothesis
import pytest
import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bridge.photo.metadata import MetadataError, read_metadata
from bridge.web.openapi import openapi_document
from support import bridge_env, run_cli

FUZZ_EXAMPLES = 40  # per operation: 14 operations, bounded


@pytest.mark.long(19)
def test_fuzz_the_local_api_from_its_openapi(sandbox, start_bridge, make_jpeg, report):
    import schemathesis

    bridge = start_bridge(sandbox.url)
    make_jpeg()  # something on disk for path-shaped strings to hit
    schema = schemathesis.openapi.from_dict(openapi_document())
    auth = {"Authorization": bridge.http.headers["Authorization"]}
    session = requests.Session()
    session.trust_env = False
    tried, server_errors = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy())
        def fuzz(case):
            nonlocal tried
            response = case.call(base_url=bridge.url, headers=auth, session=session, timeout=30)
            tried += 1
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        fuzz()
    report(
        "API fuzzing",
        requests=tried,
        operations=len(openapi_document()["paths"]),
        server_errors=len(server_errors),
    )
    assert not server_errors, "\n".join(server_errors[:5])
    assert bridge.get("/v1/health").status_code == 200


@pytest.mark.long(11)
def test_hand_written_nasty_requests(sandbox, start_bridge, make_jpeg, tmp_path, report):
    bridge = start_bridge(sandbox.url)
    photo = make_jpeg()
    os.symlink(photo, tmp_path / "link.jpg")
    os.symlink("/dev/zero", tmp_path / "zero-link.jpg")
    weird = tmp_path / "caf\udce9-\udcff.jpg"  # a name that is not UTF-8
    weird.write_bytes(photo.read_bytes())
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    cases = {
        "huge JSON": (b'{"items": [' + b'{"path": "/x"},' * 700_000 + b"{}]}", 400),
        "deep JSON": (b"[" * 200_000 + b"]" * 200_000, 400),
        "not JSON": (b"\xff\xfe{", 400),
        "items not a list": (json.dumps({"items": {"path": "/x"}}).encode(), 400),
        "no items": (b"{}", 400),
    }
    tried = 0
    for name, (body, status) in cases.items():
        resp = bridge.post("/v1/uploads", data=body, headers={"Content-Type": "application/json"})
        assert resp.status_code == status, (name, resp.status_code, resp.text[:200])
        assert resp.json()["error"] and "Traceback" not in resp.text
        tried += 1
    many = [{"path": str(photo)}] * 10_000
    started = time.monotonic()
    resp = bridge.post("/v1/uploads", json={"items": many, "service_name": "service-day-to-dusk"})
    assert resp.status_code == 202 and len(resp.json()["items"]) == 10_000
    bridge.post(f"/v1/batches/{resp.json()['batch_id']}/cancel")
    ten_thousand_s = time.monotonic() - started
    too_many = bridge.post("/v1/uploads", json={"items": many + [{"path": str(photo)}]})
    assert too_many.status_code == 400 and "1 to 10000" in too_many.json()["error"]
    tried += 2
    paths = {
        "dot-dot": (f"{tmp_path}/../{tmp_path.name}/{photo.name}", "queued"),
        "dot-dot to a non-photo": ("/etc/../etc/hostname", "not a photo format"),
        "symlink to a photo": (str(tmp_path / "link.jpg"), "queued"),
        "symlink to a device": (str(tmp_path / "zero-link.jpg"), "not a regular file"),
        "device": ("/dev/zero", "not a regular file"),
        "directory": (str(tmp_path), "is a folder"),
        "fifo": (str(fifo), "not a regular file"),
        "non-UTF-8 name": (str(weird), "queued"),
        "missing": (str(tmp_path / "nope.jpg"), "file not found"),
        "relative": ("photo.jpg", "must be absolute"),
        "NUL byte": ("/tmp/a\x00b.jpg", "no usable 'path'"),
        "empty": ("", "no usable 'path'"),
    }
    body = json.dumps(
        {"items": [{"path": p, "source_id": k} for k, (p, _) in paths.items()]}, ensure_ascii=True
    ).encode("utf-8", "surrogatepass")
    resp = bridge.post("/v1/uploads", data=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 202, resp.text[:300]
    for item in resp.json()["items"]:
        want = paths[item["source_id"]][1]
        if want == "queued":
            assert item["state"] == "queued", item
        else:
            assert item["state"] == "failed" and want in item["error"], item
        tried += 1
    no_file = bridge.post("/v1/uploads", files={"source_id": (None, "1")})
    assert no_file.status_code == 400 and "without an 'image'" in no_file.json()["error"]
    empty_file = bridge.post("/v1/uploads", files={"image": ("x.jpg", b"")})
    assert empty_file.status_code == 202 and "is empty" in empty_file.json()["items"][0]["error"]
    tried += 2
    batch = bridge.wait(resp.json()["batch_id"])
    assert batch["counts"]["done"] == 3
    report("bad requests", cases=tried, ten_thousand_items_s=round(ten_thousand_s, 1), server_errors=0)


def _mutations(data: bytes, rng: random.Random):
    yield data[: rng.randrange(1, len(data))]  # truncated
    flipped = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
    yield bytes(flipped)  # bit flips
    bogus = bytearray(data)
    for _ in range(rng.randint(1, 6)):  # offsets and counts: 2 or 4 bytes set to extremes
        at = rng.randrange(max(1, len(bogus) - 4))
        bogus[at : at + 4] = rng.choice(
            [b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff", b"\x00\x01"]
        ).ljust(4, b"\x00")[:4]
    yield bytes(bogus)


@settings(
    max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@hypothesis.given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 22))
def _fuzz_one(seed, which, files, scratch, stats):
    rng = random.Random(seed)
    source = files[which % len(files)]
    for variant in _mutations(source.read_bytes(), rng):
        scratch.write_bytes(variant)
        started = time.perf_counter()
        try:
            read_metadata(scratch)
        except MetadataError as exc:
            assert str(exc)
        stats["slowest"] = max(stats["slowest"], time.perf_counter() - started)
        stats["tried"] += 1


def test_metadata_reader_under_mutation(samples, tmp_path, report):
    import resource

    files = sorted(p for p in samples.glob("*") if p.suffix not in (".md", ".json"))
    stats = {"tried": 0, "slowest": 0.0}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _fuzz_one(files=files, scratch=tmp_path / "mutant", stats=stats)
    grew_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    report(
        "metadata fuzzing",
        files_tried=stats["tried"],
        only_documented_error="yes",
        slowest_ms=round(stats["slowest"] * 1000, 1),
        memory_growth_mb=round(grew_kib / 1024, 1),
    )
    assert stats["slowest"] < 2.0 and grew_kib < 200_000


def test_an_items_file_too_deep_or_too_long_is_refused_early(tmp_path, report):
    import tracemalloc

    from bridge.cli.exit_status import CliError
    from bridge.cli.upload import read_items

    env = bridge_env(tmp_path / "home")
    deep = tmp_path / "deep.json"
    deep.write_text('{"items": ' + "[" * 100_000 + "]" * 100_000 + "}")
    proc = run_cli("upload", "--items", deep, env=env)
    assert proc.returncode == 1 and "nested too deeply" in proc.stderr and "Traceback" not in proc.stderr
    many = tmp_path / "many.json"
    one = '{"path": "/p/%d.jpg", "source_id": "%d"}'
    many.write_text('{"items": [' + ",".join(one % (n, n) for n in range(1_000_000)) + "]}")
    proc = run_cli("upload", "--items", many, env=env)
    assert proc.returncode == 1 and "more than 10,000 items" in proc.stderr, proc.stderr
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(CliError):
        read_items(many)
    took, peak = time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * many.stat().st_size, peak  # the text, and no million items made of it
    huge = tmp_path / "huge.json"
    with huge.open("wb") as fh:
        fh.truncate(60_000_000)  # sparse: no disk used
    proc = run_cli("upload", "--items", huge, env=env)
    assert proc.returncode == 1 and "more than 10,000 items need" in proc.stderr
    report(
        "items file",
        deep="refused in one line",
        million_items=f"refused in {took:.1f} s, peak {peak / 1e6:.0f} MB (file {many.stat().st_size / 1e6:.0f} MB)",
        before="943 MB, then the bridge's 413",
    )
