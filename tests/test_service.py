"""The bridge service end to end: `aihd-bridge serve` in a subprocess, real HTTP on 127.0.0.1,
the sandbox (with injected faults) as the remote API."""

import collections
import hashlib
import signal
import time

from bridge.queue.store import MAY_BE_DUPLICATE
from bridge.sandbox import Fault, FaultPlan
from support import CANARY_KEY, bridge_env, run_cli, wait_until

FAULTS = [
    Fault(status=500),
    Fault(status=502, body="<html>bad gateway</html>"),
    Fault(status=503, retry_after="0"),
    Fault(status=429, retry_after="0"),
    Fault(drop=True),
]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_batch_survives_faults_without_duplicate_orders(make_jpeg, sandbox, start_bridge):
    photos = [make_jpeg() for _ in range(50)]
    sandbox.state.faults = FaultPlan(rate=0.3, kinds=FAULTS, seed=7)
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nmax_attempts = 30\n")
    batch = bridge.wait(bridge.upload(photos, service_name="service-day-to-dusk")["batch_id"])
    assert batch["counts"]["done"] == 50, batch["counts"]
    ids = [i["order_id"] for i in batch["items"]]
    assert len(set(ids)) == 50
    orders = sandbox.state.orders()
    assert len(orders) == 50  # one order per photo, none sent twice
    assert {o["sha256"] for o in orders} == {_sha(p) for p in photos}
    assert sum(r["status"] != 200 for r in sandbox.state.received) > 5  # faults did happen
    by_source = {i["source_id"]: i for i in batch["items"]}
    for n, photo in enumerate(photos):  # results match photos by source id, not position
        order = next(o for o in orders if o["order_id"] == by_source[f"src-{n}"]["order_id"])
        assert order["sha256"] == _sha(photo)


def test_kill_9_mid_batch_loses_nothing(make_jpeg, sandbox, start_bridge):
    photos = [make_jpeg() for _ in range(100)]
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.03, status=None)])
    bridge = start_bridge(sandbox.url)
    batch_id = bridge.upload(photos, preset="item-removal")["batch_id"]
    wait_until(lambda: len(sandbox.state.orders()) >= 30, what="30 orders")
    bridge.stop(signal.SIGKILL)
    assert (bridge.home / "bridge.json").exists()  # a crash leaves it behind; restart copes
    bridge.start()
    batch = bridge.wait(batch_id)
    assert batch["counts"]["done"] == 100, batch["counts"]
    per_photo = collections.Counter(o["sha256"] for o in sandbox.state.orders())
    for item, photo in zip(batch["items"], photos):
        if per_photo[_sha(photo)] > 1:  # only what was under way at the kill may repeat
            assert MAY_BE_DUPLICATE in item["notes"]
    assert sum(MAY_BE_DUPLICATE in i["notes"] for i in batch["items"]) <= 3  # 3 workers
    assert not bridge.spool_files()  # spool files go once done (and hashed for dedupe)


def test_permanent_errors_fail_at_once_with_the_remote_message(make_jpeg, sandbox, start_bridge):
    photos = [make_jpeg() for _ in range(6)]
    sandbox.state.faults = FaultPlan(
        script=[
            Fault(status=400, body='{"error": "http: no such file"}'),
            Fault(status=401, body='{"error": "invalid api key"}'),
            Fault(status=413),
        ]
    )
    bridge = start_bridge(sandbox.url, config="workers = 1\nretry_base = 0.05\n")
    batch = bridge.wait(bridge.upload(photos, service_name="service-item-removal")["batch_id"])
    failed = [i for i in batch["items"] if i["state"] == "failed"]
    assert [i["attempts"] for i in failed] == [1, 1, 1]
    assert "http: no such file" in failed[0]["error"] and str(photos[0]) in failed[0]["error"]
    assert "invalid api key" in failed[1]["error"] and "too large" in failed[2]["error"]
    assert batch["counts"]["done"] == 3


def test_bad_items_fail_alone(make_jpeg, sandbox, start_bridge, tmp_path):
    good = make_jpeg()
    noise = tmp_path / "noise.jpg"
    noise.write_bytes(b"\x00" * 100)
    bridge = start_bridge(sandbox.url)
    resp = bridge.post(
        "/v1/uploads",
        json={
            "items": [
                {"path": str(good), "source_id": "1"},
                {"path": str(noise), "source_id": "2"},
                {"path": "relative.jpg", "source_id": "3"},
                {"path": "/dev/zero", "source_id": "4"},
                {"path": str(tmp_path), "source_id": "5"},
                {"path": str(good), "service_name": "nope"},
                {"nopath": 1},
                "a string",
            ]
        },
    )
    assert resp.status_code == 202
    answer = resp.json()["items"]
    assert answer[0]["state"] == "queued" and answer[0]["error"] is None
    assert all(i["state"] == "failed" and i["error"] for i in answer[1:])
    assert "not a photo format" in answer[1]["error"] and "absolute" in answer[2]["error"]
    assert "not a regular file" in answer[3]["error"] and "folder" in answer[4]["error"]
    assert "unknown service 'nope'" in answer[5]["error"]
    batch = bridge.wait(resp.json()["batch_id"])
    assert [i["state"] for i in batch["items"]] == ["done"] + ["failed"] * 7


def test_temporary_export_deleted_right_after_202(make_jpeg, sandbox, start_bridge):
    photo = make_jpeg()
    digest = _sha(photo)
    sandbox.state.faults = FaultPlan(script=[Fault(delay=0.5)])
    bridge = start_bridge(sandbox.url)
    batch_id = bridge.upload([photo])["batch_id"]
    photo.unlink()  # what Lightroom does with its temporary renders
    batch = bridge.wait(batch_id)
    assert batch["items"][0]["state"] == "done"
    assert sandbox.state.orders()[0]["sha256"] == digest


def test_same_photo_same_service_is_ordered_once(make_jpeg, sandbox, start_bridge):
    photo = make_jpeg()
    bridge = start_bridge(sandbox.url)
    first = bridge.wait(bridge.upload([photo, photo], service_name="service-day-to-dusk")["batch_id"])
    again = bridge.wait(bridge.upload([photo], service_name="service-day-to-dusk")["batch_id"])
    ids = {i["order_id"] for i in first["items"] + again["items"]}
    assert len(ids) == 1 and len(sandbox.state.orders()) == 1
    other = bridge.wait(bridge.upload([photo], service_name="service-item-removal")["batch_id"])
    forced = bridge.wait(bridge.upload([photo], service_name="service-day-to-dusk", force=True)["batch_id"])
    assert len(sandbox.state.orders()) == 3
    assert other["items"][0]["order_id"] not in ids and forced["items"][0]["order_id"] not in ids


def test_cancel_stops_what_has_not_started(make_jpeg, sandbox, start_bridge):
    photos = [make_jpeg() for _ in range(8)]
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=0.4)])
    bridge = start_bridge(sandbox.url, config="workers = 1\n")
    batch_id = bridge.upload(photos)["batch_id"]
    wait_until(lambda: sandbox.state.received, what="the first upload")
    answer = bridge.post(f"/v1/batches/{batch_id}/cancel").json()
    assert len(answer["cancelled"]) >= 5
    batch = bridge.wait(batch_id)
    assert batch["counts"]["cancelled"] == len(answer["cancelled"])
    assert batch["counts"]["done"] + batch["counts"]["cancelled"] == 8
    assert len(sandbox.state.orders()) == batch["counts"]["done"]
    # a cancelled item can be sent after all
    retried = bridge.post(f"/v1/batches/{batch_id}/retry").json()["queued"]
    assert sorted(retried) == sorted(answer["cancelled"])
    sandbox.state.faults = FaultPlan()
    assert bridge.wait(batch_id)["counts"]["done"] == 8


def test_retry_of_a_failed_item(make_jpeg, sandbox, start_bridge):
    sandbox.state.faults = FaultPlan(script=[Fault(status=500)] * 2)
    bridge = start_bridge(sandbox.url, config="max_attempts = 2\nretry_base = 0.05\n")
    batch = bridge.wait(bridge.upload([make_jpeg()])["batch_id"])
    item = batch["items"][0]
    assert item["state"] == "failed" and "gave up after 2 attempts" in item["error"]
    detail = bridge.get(f"/v1/uploads/{item['id']}").json()
    assert [h["outcome"] for h in detail["history"]] == ["retry", "failed"]
    assert bridge.post(f"/v1/uploads/{item['id']}/retry").json()["queued"] == [item["id"]]
    assert bridge.wait(batch["id"])["items"][0]["state"] == "done"


def test_bare_429_waits_about_a_minute_and_says_so(make_jpeg, sandbox, start_bridge):
    sandbox.state.faults = FaultPlan(script=[Fault(status=429)])
    bridge = start_bridge(sandbox.url)
    batch_id = bridge.upload([make_jpeg()])["batch_id"]

    def first_item():
        return bridge.get(f"/v1/batches/{batch_id}").json()["items"][0]

    wait_until(lambda: first_item()["waiting_until"], timeout=10, what="the wait after a 429")
    item = first_item()
    assert item["state"] == "queued" and 55 < item["waiting_until"] - time.time() < 80
    assert "rate limiting" in item["error"]
    assert bridge.get("/v1/health").json()["queue"]["waiting"] == 1


def test_multipart_intake(make_jpeg, sandbox, start_bridge):
    photo = make_jpeg("IMG_1.jpg")
    bridge = start_bridge(sandbox.url)
    with photo.open("rb") as fh:
        resp = bridge.post(
            "/v1/uploads",
            files={"image": ("IMG_1.jpg", fh, "image/jpeg")},
            data={"service_name": "day-to-dusk", "source_id": "lr-42"},
        )
    assert resp.status_code == 202, resp.text
    batch = bridge.wait(resp.json()["batch_id"])
    assert batch["items"][0]["source_id"] == "lr-42" and batch["items"][0]["state"] == "done"
    got = sandbox.state.orders()[0]
    assert got["filename"] == "IMG_1.jpg" and got["service_name"] == "service-day-to-dusk"
    empty = bridge.post("/v1/uploads", files={"other": ("x", b"1")})
    assert empty.status_code == 400 and "image" in empty.json()["error"]


def test_guards(sandbox, start_bridge):
    import requests

    bridge = start_bridge(sandbox.url)
    url, port = bridge.url, bridge.info["port"]
    bare = requests.Session()
    bare.trust_env = False
    assert bare.get(url + "/v1/health").status_code == 200  # health needs no token
    assert bare.get(url + "/v1/history").status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 43}
    assert bare.get(url + "/v1/history", headers=wrong).status_code == 401
    assert bridge.get("/v1/history").status_code == 200
    assert bridge.get("/v1/history", headers={"Host": f"localhost:{port}"}).status_code == 200
    for headers in (
        {"Host": f"evil.example:{port}"},
        {"Host": "127.0.0.1"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
    ):
        resp = bridge.get("/v1/history", headers=headers)
        assert resp.status_code == 403, headers
    preflight = bridge.http.options(
        url + "/v1/uploads",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    csrf = bridge.post("/v1/uploads", data={"items": "x"})
    assert csrf.status_code == 415
    for resp in (preflight, csrf, bridge.get("/v1/health")):
        assert not [h for h in resp.headers if h.lower().startswith("access-control")]
    assert oct((bridge.home / "bridge.json").stat().st_mode & 0o777) == "0o600"


def test_canary_key_is_never_written_or_answered(make_jpeg, sandbox, start_bridge, tmp_path):
    sandbox.state.faults = FaultPlan(
        script=[Fault(status=401, body='{"error": "bad key ' + CANARY_KEY + '"}'), Fault(status=500)]
    )
    bridge = start_bridge(sandbox.url)
    batch = bridge.wait(bridge.upload([make_jpeg(), make_jpeg(), make_jpeg()])["batch_id"])
    bodies = [
        bridge.get(p).text
        for p in (
            "/v1/health",
            "/v1/history",
            f"/v1/batches/{batch['id']}",
            "/v1/presets",
            "/v1/openapi.json",
        )
    ]
    bodies += [bridge.get(f"/v1/uploads/{i['id']}").text for i in batch["items"]]
    status = run_cli("status", "--json", env=bridge.env)
    bridge.stop()
    files = [p for p in bridge.home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("bridge.sqlite3") for p in files)
    assert any(p.name == "bridge.log" for p in files)
    for p in files:
        assert CANARY_KEY.encode() not in p.read_bytes(), p
    for text in bodies + [status.stdout, status.stderr]:
        assert CANARY_KEY not in text


def test_second_serve_says_so_and_exits_0(sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    second = run_cli("serve", env=bridge.env, timeout=20)
    assert second.returncode == 0 and "already running" in second.stderr


def test_cli_upload_goes_through_the_running_bridge(make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    photo = make_jpeg()
    proc = run_cli("upload", "-s", "creative-designer", photo, env=bridge.env)
    assert proc.returncode == 0, proc.stderr
    assert "handed to the bridge" in proc.stderr
    history = bridge.get("/v1/history", params={"source_path": str(photo)}).json()["items"]
    assert history[0]["order_id"] in proc.stdout
    status = run_cli("status", env=bridge.env)
    assert status.returncode == 0 and "1 done" in status.stdout and "live mode" in status.stdout


def test_status_without_a_bridge(tmp_path):
    proc = run_cli("status", env=bridge_env(tmp_path))
    assert proc.returncode == 1 and "not running" in proc.stdout


def test_sandbox_mode_without_a_key(make_jpeg, start_bridge):
    bridge = start_bridge(None, api_key=None)
    assert bridge.get("/v1/health").json()["mode"] == "sandbox"
    batch = bridge.wait(bridge.upload([make_jpeg()])["batch_id"])
    assert batch["items"][0]["order_id"].startswith("sandbox-")


def test_sigterm_lets_the_upload_under_way_finish(make_jpeg, sandbox, start_bridge):
    photos = [make_jpeg() for _ in range(4)]
    sandbox.state.faults = FaultPlan(rate=1.0, kinds=[Fault(delay=1.0)])
    bridge = start_bridge(sandbox.url, config="workers = 1\n")
    batch_id = bridge.upload(photos)["batch_id"]
    wait_until(
        lambda: bridge.get(f"/v1/batches/{batch_id}").json()["counts"]["uploading"],
        what="an upload under way",
    )
    assert bridge.stop(signal.SIGTERM) == 0
    assert not (bridge.home / "bridge.json").exists()
    assert len(sandbox.state.orders()) == 1  # the one under way finished; the rest wait
    sandbox.state.faults = FaultPlan()
    bridge.start()
    batch = bridge.wait(batch_id)
    assert batch["counts"]["done"] == 4 and len(sandbox.state.orders()) == 4
    assert not any(i["notes"] for i in batch["items"])


def test_hand_over_photo_by_photo_into_one_batch(make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    first = bridge.upload([make_jpeg()])["batch_id"]
    resp = bridge.post("/v1/uploads", json={"batch_id": first, "items": [{"path": str(make_jpeg())}]})
    assert resp.status_code == 202 and resp.json()["batch_id"] == first
    batch = bridge.wait(first)
    assert batch["total"] == 2 and batch["counts"]["done"] == 2
    unknown = bridge.post("/v1/uploads", json={"batch_id": "b_nope", "items": [{"path": str(make_jpeg())}]})
    assert unknown.status_code == 400 and "no batch" in unknown.json()["error"]
    assert not bridge.spool_files()


def test_rate_limiting_pauses_everyone_and_never_fails_a_photo(make_jpeg, sandbox, start_bridge):
    photos = [make_jpeg() for _ in range(4)]
    sandbox.state.faults = FaultPlan(script=[Fault(status=429)] * 5)
    bridge = start_bridge(
        sandbox.url, config="max_attempts = 2\nrate_limit_wait = 0.4\nretry_base = 0.05\nworkers = 3\n"
    )
    batch = bridge.wait(bridge.upload(photos)["batch_id"], timeout=60)
    assert batch["counts"]["done"] == 4, batch["items"]  # five 429s, yet nobody gave up
    arrivals = sorted(r["time"] for r in sandbox.state.received)
    first_429 = min(r["time"] for r in sandbox.state.received if r["status"] == 429)
    # while paused, the other workers sent nothing: every later request waited ~the pause
    paused = [t for t in arrivals if first_429 + 0.15 < t < first_429 + 0.35]
    assert not paused, paused


def test_history_of_several_photos_in_one_call(make_jpeg, sandbox, start_bridge):
    bridge = start_bridge(sandbox.url)
    items = [{"path": str(make_jpeg()), "source_id": f"src-{n}"} for n in range(5)]
    bridge.wait(bridge.post("/v1/uploads", json={"items": items, "preset": "auto"}).json()["batch_id"])
    got = bridge.get(
        "/v1/history", params=[("source_id", "src-1"), ("source_id", "src-3"), ("source_id", "nope")]
    ).json()["items"]
    assert sorted(i["source_id"] for i in got) == ["src-1", "src-3"] and all(i["order_id"] for i in got)
    one = bridge.get("/v1/history", params={"source_id": "src-4"}).json()["items"]
    assert [i["source_id"] for i in one] == ["src-4"]
    too_many = bridge.get("/v1/history", params=[("source_id", str(n)) for n in range(501)])
    assert too_many.status_code == 400 and "at most 500" in too_many.json()["error"]
