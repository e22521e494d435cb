"""The network away for 40 times the retry budget: the bridge waits, fails no photo, orders each
once when the API is back, and says meanwhile that the API is out of reach."""

import collections
import hashlib
import json
import time

from support import run_cli, wait_until

RETRY_BASE, MAX_ATTEMPTS = 0.05, 3
# What a photo's own retries may take before it gives up: 0.05 + 0.1 s.
RETRY_BUDGET = sum(RETRY_BASE * 2**n for n in range(MAX_ATTEMPTS - 1))


def test_network_away_fails_no_photo(photos, sandbox, start_bridge, report):
    files = photos(12)
    bridge = start_bridge(
        sandbox.url,
        config=f"retry_base = {RETRY_BASE}\n"
        f"max_attempts = {MAX_ATTEMPTS}\n"
        "probe_max_wait = 0.5\nworkers = 3\n",
    )
    sandbox.state.unreachable_for(10**6)
    away_since = time.monotonic()
    batch_id = bridge.upload(files, service_name="service-day-to-dusk")["batch_id"]

    def remote():
        return bridge.get("/v1/health").json()["remote"]

    wait_until(lambda: remote()["state"] == "unreachable", timeout=10, what="the outage noticed")
    status = run_cli("status", env=bridge.env)
    assert "remote API: out of reach since" in status.stdout, status.stdout
    from_json = json.loads(run_cli("status", "--json", env=bridge.env).stdout)["remote"]
    assert from_json["state"] == "unreachable" and "network error" in from_json["last_error"]
    looks = 0
    while time.monotonic() - away_since < 40 * RETRY_BUDGET:
        seen = remote()
        assert seen["state"] == "unreachable" and seen["next_try"] >= seen["since"]
        batch = bridge.get(f"/v1/batches/{batch_id}").json()
        assert batch["counts"]["failed"] == 0 and batch["remote"]["state"] == "unreachable"
        looks += 1
        time.sleep(0.2)  # the behaviour: looks spread over the outage, which lasts a given time
    away = time.monotonic() - away_since
    sandbox.state.unreachable_for(0)

    batch = bridge.wait(batch_id, timeout=60)
    per_photo = collections.Counter(o["sha256"] for o in sandbox.state.orders())
    shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    report(
        "network away",
        away_s=round(away, 1),
        retry_budget_s=round(RETRY_BUDGET, 2),
        photos=len(files),
        failed=batch["counts"]["failed"],
        done=batch["counts"]["done"],
        ordered_twice=sum(n > 1 for n in per_photo.values()),
    )
    assert looks > 10 and away >= 40 * RETRY_BUDGET
    assert batch["counts"]["done"] == len(files) and batch["counts"]["failed"] == 0
    assert set(per_photo) == shas and set(per_photo.values()) == {1}  # each photo ordered once
    assert {i["attempts"] for i in batch["items"]} == {1}  # the outage was charged to nobody
    assert remote()["state"] == "ok"
