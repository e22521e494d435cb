"""A canary API key, used everywhere in one run, turns up nowhere: not in logs, the database,
the spool, answers, `status`, `doctor`, nor in what a crashing or stopping bridge prints."""

import os
import signal

from secrets_check import assert_no_secret

from bridge.sandbox import Fault, FaultPlan
from support import CANARY_KEY, run_cli


def test_canary_key_stays_secret(sandbox, start_bridge, photos, report):
    bridge = start_bridge(sandbox.url, config="retry_base = 0.05\nmax_attempts = 2\n")
    # A remote that repeats the key back, fails, drops connections and times out.
    sandbox.state.faults = FaultPlan(
        script=[
            Fault(status=401, body='{"error": "key ' + CANARY_KEY + ' is not valid"}'),
            Fault(status=500, body="<pre>x-api-key: " + CANARY_KEY + "</pre>"),
            Fault(status=400, body="not json " + CANARY_KEY),
            Fault(drop=True),
            Fault(status=503),
        ]
    )
    files = photos(8, "secret")
    answers = [bridge.post("/v1/uploads", json={"items": [{"path": str(p)} for p in files]}).text]
    batch_id = __import__("json").loads(answers[0])["batch_id"]
    bridge.wait(batch_id)
    for path in (
        "/v1/health",
        "/v1/history",
        f"/v1/batches/{batch_id}",
        "/v1/presets",
        "/v1/services",
        "/v1/openapi.json",
    ):
        answers.append(bridge.get(path).text)
    answers.append(bridge.post("/v1/inspect", json={"path": str(files[0])}).text)
    outputs = [
        run_cli(*args, env=bridge.env)
        for args in (("status", "--json"), ("status",), ("doctor", "--json", "--online"), ("config", "show"))
    ]
    bridge.stop(signal.SIGTERM)
    upload = run_cli("upload", "--attempts", "1", files[0], env=bridge.env)  # a bridge in its process
    bridge.start()
    os.kill(bridge.proc.pid, signal.SIGKILL)  # a crash: whatever it printed is checked too
    bridge.proc.wait(10)
    bridge.log.close()
    texts = answers + [o.stdout + o.stderr for o in outputs + [upload]]
    texts.append((bridge.home / "serve-output.txt").read_text())
    files_read = assert_no_secret(CANARY_KEY, [bridge.home], texts)
    report("secrets", canary_key_found=0, files_scanned=files_read, answers_scanned=len(texts))
