"""Text the remote sends, as the terminal and the status page get it (issue 23): escape
sequences and line breaks in its errors are gone before anything is stored or shown; an order
id with control characters, or too long to be one, is refused, never cleaned into another."""

from __future__ import annotations

import json

from bridge.remote.sandbox import Fault, FaultPlan
from support import bridge_env, run_cli

CONFIG = "retry_base = 0.05\nmax_attempts = 1\n"
TITLE = "\x1b]0;PWNED\x07"  # sets the terminal's title
FORGED = "\nOK   photo.jpg -> order sandbox-0000 (charged)"  # a line the bridge never wrote
CONTROLS = "\x1b\x07\x9b\r"


def test_the_remotes_text_reaches_no_terminal_raw(make_jpeg, sandbox, start_bridge, report):
    bridge = start_bridge(sandbox.url, config=CONFIG)
    long_id = "o" * 201
    sandbox.state.faults = FaultPlan(
        script=[
            Fault(status=400, body=json.dumps({"error": f"refused {TITLE}{FORGED}\x9b31m"})),
            Fault(status=200, body=json.dumps({"order_id": f"sandbox-1{TITLE}"})),
            Fault(status=200, body=json.dumps({"order_id": f"sandbox-2{FORGED}"})),
            Fault(status=200, body=json.dumps({"order_id": long_id})),
        ]
    )
    items = [{"path": str(make_jpeg()), "source_id": str(n)} for n in range(4)]
    batch = bridge.wait(bridge.upload_items(items, service_name="day-to-dusk")["batch_id"])
    errors = [i["error"] for i in batch["items"]]  # the workers take the answers in any order
    assert all(i["state"] == "failed" and i["order_id"] is None for i in batch["items"]), batch["items"]
    assert sum("refused ]0;PWNED OK photo.jpg" in e for e in errors) == 1, errors
    assert sum("order id has control characters or is over 200 characters" in e for e in errors) == 3
    env = bridge_env(bridge.home, sandbox.url)
    sandbox.state.faults = FaultPlan(script=[Fault(status=400, body=json.dumps({"error": TITLE + FORGED}))])
    uploaded = run_cli("upload", make_jpeg(), "--service", "day-to-dusk", env=env)
    assert uploaded.returncode != 0 and "PWNED" in uploaded.stdout + uploaded.stderr
    shown = [run_cli("status", env=env), uploaded]
    texts = [json.dumps(batch), *(r.stdout + r.stderr for r in shown)]
    assert not any(c in t for t in texts for c in CONTROLS)
    assert not any(line.startswith("OK   photo.jpg") for t in texts for line in t.splitlines())
    report("remote text", hostile_answers=5, control_characters_shown=0, forged_lines=0, ids_refused=3)
