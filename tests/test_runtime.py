"""One running bridge's parts: taking up a new API key without a restart."""

import socket
from urllib.parse import urlsplit

from bridge.connect import remote_client
from bridge.core.config import Settings
from bridge.runtime import Runtime
from support import CANARY_KEY, wait_until


def _refuses(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return False
    except OSError:
        return True


def test_a_new_key_retires_the_old_client_and_its_sandbox(tmp_path):
    runtime = Runtime(Settings(home=tmp_path, api_key=None, api_url="http://127.0.0.1:9"), remote_client)
    try:
        sandbox_url = runtime.client.base_url
        assert not _refuses(sandbox_url)  # sandbox mode: the embedded stand-in listens
        env = {"AIHD_HOME": str(tmp_path), "AIHD_API_KEY": CANARY_KEY}
        assert runtime.reload_key(env) == "live"
        assert runtime.pool.client is runtime.client and runtime.client.base_url != sandbox_url
        # Nothing was uploading through it, so the old sandbox closes at once, not at stop.
        wait_until(lambda: _refuses(sandbox_url), timeout=10, what="the old sandbox to close")
        assert runtime.reload_key({"AIHD_HOME": str(tmp_path)}) == "sandbox"  # key removed
        wait_until(lambda: not runtime._retired, timeout=10, what="the live client to retire")
    finally:
        runtime.stop(1)
    assert _refuses(runtime.client.base_url)  # stop closes the current one too
