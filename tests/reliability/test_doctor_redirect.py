"""`doctor --online` never follows a redirect with the key: an API URL that answers 301, 302,
307 or 308 towards another host gets a readable failure, and that host never sees the key."""

import json

from fakehttp import RecordingServer

from support import CANARY_KEY, bridge_env, run_cli


def test_online_check_does_not_follow_redirects(tmp_path, report):
    with RecordingServer(lambda *_: (400, {}, b'{"error": "http: no such file"}')) as elsewhere:
        for status in (301, 302, 307, 308):
            target = f"http://localhost:{elsewhere.port}/v1/order/image"  # another host name
            redirect = (status, {"Location": target}, b"")
            with RecordingServer(lambda *_, answer=redirect: answer) as api:
                env = bridge_env(tmp_path / str(status), api.url)
                proc = run_cli("doctor", "--json", "--online", env=env)
                online = {c["name"]: c for c in json.loads(proc.stdout)}["api key online"]
                assert len(api.requests) == 1 and api.seen(CANARY_KEY)  # asked once, itself
                assert online["status"] == "fail", online
                assert f"redirects (HTTP {status}) to localhost:{elsewhere.port}" in online["detail"]
                assert "AIHD_API_URL" in online["fix"]
                human = run_cli("doctor", "--online", env=env).stdout
                assert "FAIL  api key online" in human and "the key was not sent there" in human
        assert not elsewhere.requests, elsewhere.requests  # never asked, so never given the key
    report("redirects", statuses="301 302 307 308", key_sent_elsewhere=0, reported_as="fail")
