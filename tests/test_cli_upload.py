"""`aihd-bridge upload` end to end: a real subprocess, real HTTP, the sandbox as the remote."""

import hashlib
import json

import pytest

from bridge.sandbox import Fault, FaultPlan, key_fingerprint
from support import CANARY_KEY, bridge_env, run_cli

SENDABLE = {"HEIF"}  # the HEIF sample has no pixels: it goes as is, not converted


def _results(proc) -> dict:
    assert "Traceback" not in proc.stderr + proc.stdout
    return {r["path"]: r for r in json.loads(proc.stdout)["results"]}


def test_every_sample_format_reaches_the_remote_intact(samples, expected, sandbox, tmp_path):
    paths = [samples / name for name in sorted(expected)]
    env = bridge_env(tmp_path, sandbox.url)
    proc = run_cli("upload", "--json", "--keep-heic", "-s", "virtual-staging", *paths, env=env)
    assert proc.returncode == 0, proc.stderr
    results = _results(proc)
    by_sha = {r["sha256"]: r for r in sandbox.state.orders()}
    for path in paths:
        got = by_sha[hashlib.sha256(path.read_bytes()).hexdigest()]
        assert results[str(path)]["order_id"] == got["order_id"]
        assert got["service_name"] == "service-ai-virtual-staging"
        assert got["filename"] == path.name
        assert got["key"] == key_fingerprint(CANARY_KEY)
    assert len(sandbox.state.orders()) == len(paths)


def test_human_output_prints_order_ids(make_jpeg, sandbox, tmp_path):
    photo = make_jpeg("living room.jpg")
    proc = run_cli("upload", photo, env=bridge_env(tmp_path, sandbox.url))
    assert proc.returncode == 0
    order_id = sandbox.state.orders()[0]["order_id"]
    assert f"OK    {photo}  service-image-enhancement  order {order_id}" in proc.stdout
    assert "sandbox mode" not in proc.stderr  # a key is set: this is live mode


def test_without_a_key_it_says_sandbox_on_every_run(make_jpeg, tmp_path):
    env = bridge_env(tmp_path, api_key=None)
    for _ in range(2):
        proc = run_cli("upload", make_jpeg(), env=env)
        assert proc.returncode == 0
        assert "sandbox mode" in proc.stderr and "order sandbox-" in proc.stdout


def test_bad_input_fails_alone_and_the_rest_still_upload(make_jpeg, sandbox, tmp_path):
    good = [make_jpeg(), make_jpeg()]
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(good[0].read_bytes()[:300])
    noise = tmp_path / "noise.jpg"
    noise.write_bytes(b"\x13\x37" * 500)
    empty = tmp_path / "empty.jpg"
    empty.touch()
    big = tmp_path / "huge.dng"
    with big.open("wb") as fh:
        fh.write(b"II*\x00\x08\x00\x00\x00")
        fh.truncate(50_000_001)
    missing = tmp_path / "gone.jpg"
    paths = [good[0], bad, noise, tmp_path, empty, big, missing, good[1]]
    proc = run_cli("upload", *paths, env=bridge_env(tmp_path / "home", sandbox.url))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    fails = [l for l in proc.stdout.splitlines() if l.startswith("FAIL")]
    assert len(fails) == 6
    for path in (bad, noise, tmp_path, empty, big, missing):
        assert sum(str(path) + ":" in l for l in fails) >= 1
    assert len(sandbox.state.orders()) == 2


def test_unknown_service_is_a_usage_error(make_jpeg, tmp_path):
    proc = run_cli("upload", "-s", "paint-it-pink", make_jpeg(), env=bridge_env(tmp_path))
    assert proc.returncode == 2 and "unknown service 'paint-it-pink'" in proc.stderr


@pytest.mark.parametrize(
    "fault,words",
    [
        (Fault(status=400, body='{"error": "http: no such file"}'), "(HTTP 400): http: no such file"),
        (
            Fault(status=401, body='{"error": "invalid api key"}'),
            "key was not accepted (HTTP 401): invalid api key",
        ),
        (Fault(status=413), "HTTP 413"),
        (Fault(status=500), "HTTP 500"),
    ],
)
def test_remote_failures_name_the_file(make_jpeg, sandbox, tmp_path, fault, words):
    photos = {str(make_jpeg("first.jpg")), str(make_jpeg("second.jpg"))}
    sandbox.state.faults = FaultPlan(script=[fault])
    proc = run_cli("upload", "--attempts", "1", *photos, env=bridge_env(tmp_path, sandbox.url))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    (failed,) = [l for l in proc.stdout.splitlines() if l.startswith("FAIL")]
    (ok,) = [l for l in proc.stdout.splitlines() if l.startswith("OK")]
    assert words in failed
    assert {failed.split()[1].rstrip(":"), ok.split()[1]} == photos  # each line names its file
    assert CANARY_KEY not in proc.stdout + proc.stderr


@pytest.mark.parametrize("fault", [Fault(status=429, retry_after="0"), Fault(drop=True)])
def test_an_outage_or_a_rate_limit_fails_no_photo(make_jpeg, sandbox, tmp_path, fault):
    """The bridge run by `upload` pauses on them and sends again, as a running bridge does."""
    sandbox.state.faults = FaultPlan(script=[fault])
    proc = run_cli(
        "upload", "--attempts", "1", make_jpeg(), make_jpeg(), env=bridge_env(tmp_path, sandbox.url)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("OK    ") == 2 and sum(sandbox.state.injected.values()) == 1


def test_retryable_failures_are_retried(make_jpeg, sandbox, tmp_path):
    sandbox.state.faults = FaultPlan(script=[Fault(status=503, retry_after="0"), Fault(drop=True)])
    proc = run_cli(
        "upload",
        "--json",
        "--attempts",
        "3",
        make_jpeg(),
        env=bridge_env(tmp_path, sandbox.url, AIHD_HOME=str(tmp_path)),
    )
    result = next(iter(_results(proc).values()))
    assert proc.returncode == 0 and result["ok"]
    assert sum(sandbox.state.injected.values()) == 2  # sent three times, the outage charged to no attempt


def test_items_file_carries_source_ids_through_the_bridge(make_jpeg, sandbox, start_bridge, tmp_path):
    bridge = start_bridge(sandbox.url)
    photos = [make_jpeg("Größe 'A' \"x\".jpg"), make_jpeg()]
    items = tmp_path / "items.json"
    items.write_text(
        json.dumps({"items": [{"path": str(p), "source_id": f"host:{n}"} for n, p in enumerate(photos)]}),
        "utf-8",
    )
    proc = run_cli(
        "upload",
        "--json",
        "--bridge-only",
        "--client",
        "darktable",
        "--items",
        items,
        "-p",
        "day-to-dusk",
        env=bridge.env,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert sorted(r["source_id"] for r in results) == ["host:0", "host:1"]
    assert {r["path"] for r in results} == {str(p) for p in photos}
    history = bridge.get("/v1/history").json()["items"]
    assert sorted(i["source_id"] for i in history) == ["host:0", "host:1"]


def test_items_file_carries_each_items_project_to_the_bridge(make_jpeg, sandbox, start_bridge, tmp_path):
    """darktable names each image's property (its film roll) in the items file: per item,
    before the command line's --project, and an item without one takes that."""
    bridge = start_bridge(sandbox.url)
    photos = [make_jpeg(), make_jpeg(), make_jpeg()]
    items = tmp_path / "items.json"
    own = ["12 Oak Avenue", "Flat 3, 7 Mill Lane", None]
    items.write_text(
        json.dumps(
            {
                "items": [
                    {"path": str(p), "source_id": f"host:{n}"} | ({"project": own[n]} if own[n] else {})
                    for n, p in enumerate(photos)
                ]
            }
        ),
        "utf-8",
    )
    proc = run_cli(
        "upload", "--json", "--bridge-only", "--items", items, "--project", "Elsewhere", env=bridge.env
    )
    assert proc.returncode == 0, proc.stderr
    history = bridge.get("/v1/history").json()["items"]
    assert {i["source_id"]: i["project"] for i in history} == {
        "host:0": "12 Oak Avenue",
        "host:1": "Flat 3, 7 Mill Lane",
        "host:2": "Elsewhere",
    }
    items.write_text(json.dumps({"items": [{"path": str(photos[0]), "source_id": "x", "project": 12}]}))
    proc = run_cli("upload", "--items", items, env=bridge.env)
    assert proc.returncode == 1 and '"project" must be text' in proc.stderr and "Traceback" not in proc.stderr


def test_items_file_problems_name_the_file(tmp_path):
    env = bridge_env(tmp_path)
    for text in ("not json", '{"items": [{"path": "a.jpg"}]}', '{"items": [{"path": "", "source_id": 1}]}'):
        items = tmp_path / "items.json"
        items.write_text(text)
        proc = run_cli("upload", "--items", items, env=env)
        assert proc.returncode == 1 and str(items) in proc.stderr and "Traceback" not in proc.stderr


def test_bridge_only_fails_plainly_without_a_bridge(make_jpeg, tmp_path):
    proc = run_cli("upload", "--json", "--bridge-only", make_jpeg(), env=bridge_env(tmp_path / "empty"))
    assert proc.returncode == 3
    answer = json.loads(proc.stdout)
    assert (
        answer["results"] == []
        and "not running" in answer["error"]
        and "aihd-bridge serve" in answer["error"]
    )
    human = run_cli("upload", "--bridge-only", make_jpeg(), env=bridge_env(tmp_path / "empty"))
    assert human.returncode == 3 and "not running" in human.stderr


def test_presets_lists_services_and_the_users_presets(tmp_path):
    (tmp_path / "presets.toml").write_text(
        '[presets.twilight]\ntitle = "Twilight"\nservice = "day-to-dusk"\n'
    )
    proc = run_cli("presets", "--json", env=bridge_env(tmp_path))
    answer = json.loads(proc.stdout)
    assert {"name": "twilight", "title": "Twilight", "service": "service-day-to-dusk"} in answer["presets"]
    names = [s["name"] for s in answer["services"]]
    assert names[:5] == [
        "service-ai-virtual-staging",
        "service-creative-designer",
        "service-image-enhancement",
        "service-day-to-dusk",
        "service-item-removal",
    ]
    assert "tool-wall-change" in names and len(names) == 12 and answer["problem"] is None
    assert "twilight" in run_cli("presets", env=bridge_env(tmp_path)).stdout
