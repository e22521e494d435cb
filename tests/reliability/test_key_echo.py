"""A remote that echoes the API key back in every form it might (any case, base64 at each
alignment, URL-encoded, JSON-escaped), placed across the 200-character cut of its message: not
even the key's first 4 characters reach the database, the log, the API or the command line."""

import base64
import json
import re
import urllib.parse

from bridge.sandbox import Fault, FaultPlan
from support import run_cli

KEY = "aK9-zQ/7+xR2~wP5.mN8"  # '/', '+' and '~' make its URL-encoded and base64 forms differ
CUT = 199  # api.SNIPPET_CHARS - 1: where a long remote message is cut


def _echoes() -> dict[str, str]:
    forms = {
        "as sent": KEY,
        "upper case": KEY.upper(),
        "lower case": KEY.lower(),
        "swapped case": KEY.swapcase(),
        "URL-encoded": urllib.parse.quote(KEY, safe=""),
        "URL-encoded, lower-case hex": urllib.parse.quote(KEY, safe="").lower(),
        "JSON-escaped": "".join(f"\\u{ord(c):04x}" for c in KEY),
    }
    for lead in (b"", b"a", b"ab"):  # the key at each offset mod 3
        blob = lead + b"x-api-key: " + KEY.encode() + b" was refused"
        forms[f"base64, offset {len(lead) + 11}"] = base64.b64encode(blob).decode()
        forms[f"URL-safe base64, offset {len(lead) + 11}"] = base64.urlsafe_b64encode(blob).decode()
    return forms


def _straddling(form: str) -> str:
    """A remote message in which `form`'s key starts a few characters before the cut."""
    at = form.find(KEY[:2]) if KEY[:2] in form else len(form) // 3
    filler = "the key you sent is not valid for this account; it was "
    lead = (filler * 10)[: max(0, CUT - 5 - at)]
    return lead + form + " so nothing was ordered"


def _key_prefixes_in(text: str) -> list[str]:
    """Every prefix of 4 or more characters of the key found in text, in any case, after
    undoing URL-encoding, JSON escapes and base64 (at every alignment)."""
    views = [
        text,
        urllib.parse.unquote(text),
        re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text),
    ]
    for run in re.findall(r"[A-Za-z0-9+/_-]{6,}", text):
        run = run.replace("-", "+").replace("_", "/")
        for skip in range(4):
            part = run[skip:]
            part = part[: len(part) // 4 * 4]
            try:
                views.append(base64.b64decode(part).decode("latin-1"))
            except ValueError:
                pass
    views = [v.lower() for v in views]
    return [KEY[:n] for n in range(4, len(KEY) + 1) if any(KEY[:n].lower() in v for v in views)]


def test_echoed_key_across_the_cut_leaves_no_prefix(sandbox, start_bridge, photos, report):
    echoes = _echoes()
    bodies = [json.dumps({"error": _straddling(f)}) for f in echoes.values()]
    bodies += [_straddling(f) for f in echoes.values()]  # not JSON: the whole body is the message
    assert all(len(b) > CUT for b in bodies)
    bridge = start_bridge(sandbox.url, api_key=KEY, config="retry_base = 0.05\nmax_attempts = 1\n")
    sandbox.state.faults = FaultPlan(
        script=[Fault(status=400, body=b) for b in bodies] + [Fault(status=200, body=bodies[0])]
    )  # 200 without an order id
    files = photos(len(bodies) + 1, "echo")
    batch_id = bridge.upload(files)["batch_id"]
    batch = bridge.wait(batch_id)
    assert batch["counts"]["failed"] == len(files), batch["counts"]

    texts = {f"/v1/uploads/{i['id']}": bridge.get(f"/v1/uploads/{i['id']}").text for i in batch["items"]}
    texts["/v1/history"] = bridge.get("/v1/history", params={"limit": 100}).text
    texts[f"/v1/batches/{batch_id}"] = bridge.get(f"/v1/batches/{batch_id}").text
    for args in (("status",), ("status", "--json")):
        proc = run_cli(*args, env=bridge.env)
        texts[" ".join(args)] = proc.stdout + proc.stderr
    more = photos(4, "echo-cli")
    sandbox.state.faults = FaultPlan(script=[Fault(status=400, body=b) for b in bodies[:4]])
    for name, args in (("upload", more[:2]), ("upload, bridge in its process", more[2:])):
        if name != "upload":
            bridge.stop()
        proc = run_cli("upload", "--attempts", "1", *args, env=bridge.env)
        assert proc.returncode == 1 and proc.stdout.count("FAIL") == 2, proc.stdout + proc.stderr
        texts[name] = proc.stdout + proc.stderr
    for path in [p for p in bridge.home.rglob("*") if p.is_file() and p.name != "api-key"]:
        texts[str(path.relative_to(bridge.home))] = path.read_bytes().decode("latin-1")
    leaks = {where: found[-1] for where, text in texts.items() if (found := _key_prefixes_in(text))}
    assert not leaks, leaks
    assert any("***" in t for t in texts.values())  # the echoes did arrive, masked
    report(
        "key echoed back",
        forms=len(echoes),
        messages=len(bodies) + 5,
        places_checked=len(texts),
        longest_prefix_left=0,
    )
