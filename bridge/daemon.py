"""The bridge, built in one place (`assemble`) and run two ways: `serve` (`aihd-bridge serve`:
bind 127.0.0.1, announce ourselves in bridge.json, run until told to stop) and `in_process`
(for a command that needs the bridge while none runs: the same bridge on a free port, for as
long as the command takes)."""

from __future__ import annotations

import _thread
import contextlib
import errno
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from . import __version__
from .connect import remote_client
from .core.config import Settings
from .core.logs import setup_logging, teardown_logging
from .core.privacy import make_private
from .discovery import LocalBridge, find_bridge, remove_info, running_bridge, stop_asked, write_info
from .runtime import Runtime
from .web.app import create_app, header_guard
from .web.background import BackgroundServer
from .web.listener import create_listener

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 20.0  # seconds uploads under way may take to finish on SIGTERM
STOP_POLL = 0.5  # seconds between looks for a stop request


class AlreadyRunning(Exception):
    pass


@dataclass(frozen=True)
class Assembled:
    runtime: Runtime
    app: Flask
    token: str


def assemble(settings: Settings, port: int | None = None) -> Assembled:
    """The one place a bridge is built: its data dir made private, its runtime (store, spool,
    rules, client, workers, order follower, watches) and its app with a fresh token. Nothing
    runs yet: `runtime.start()` starts the threads once the app is served."""
    # The data dir holds clients' photos, history and the token: private whatever created it.
    make_private(settings.home)
    runtime = Runtime(settings, remote_client)
    token = secrets.token_urlsafe(32)
    return Assembled(runtime, create_app(settings, runtime=runtime, token=token, port=port), token)


@contextlib.contextmanager
def in_process(settings: Settings) -> Iterator[LocalBridge]:
    """The bridge in this process on a free 127.0.0.1 port while the caller needs it (it writes
    no bridge.json: other clients keep starting their own; its orders are followed again by the
    next bridge that starts on this data dir)."""
    built = assemble(settings, port=0)
    try:
        with BackgroundServer(built.app) as server:
            built.app.config["BRIDGE_PORT"] = server.port
            built.runtime.start()
            yield LocalBridge({"url": server.url, "token": built.token})
    finally:
        built.runtime.stop(5)


def serve(settings: Settings, echo=print) -> None:
    """Run the bridge in this process until SIGTERM/SIGINT."""
    other = find_bridge(settings.home)  # also removes a bridge.json left by a killed bridge
    if other.bridge is not None:
        raise AlreadyRunning(f"a bridge is already running at {other.bridge.url} (pid {other.pid})")
    if other.pid is not None:
        raise AlreadyRunning(other.note)
    os.umask(0o077)  # all this process writes is created private (it serves until it exits)
    built = assemble(settings)
    runtime, app, token = built.runtime, built.app, built.token
    handler = setup_logging(settings.home, lambda: [settings.api_key, runtime.settings.api_key])
    try:
        server = _listen(app, settings.port)
    except OSError as exc:
        taken = exc.errno == errno.EADDRINUSE
        if not taken or running_bridge(settings.home) is not None:
            runtime.stop(0)
            teardown_logging(handler)
            if taken:
                raise AlreadyRunning("a bridge is already running") from None
            raise
        # Another program holds the port. Clients and the plugin read the port from
        # bridge.json, so any free one serves the photographer as well.
        server = _listen(app, 0)
        echo(
            f"port {settings.port} is used by another program: serving on "
            f"{server.effective_port} instead (clients find it in bridge.json)"
        )
    port = int(server.effective_port)
    app.config["BRIDGE_PORT"] = port
    url = f"http://127.0.0.1:{port}"
    runtime.start()
    write_info(
        settings.home, {"url": url, "port": port, "pid": os.getpid(), "token": token, "version": __version__}
    )

    stopped_by: list[str] = []

    def stop(signum, _frame):
        # SystemExit, not a custom exception: waitress's event loop swallows anything else
        # raised while it handles a socket, and ends its loop cleanly on this one.
        if not stopped_by:
            stopped_by.append(signal.Signals(signum).name)
            raise SystemExit(0)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    over = threading.Event()
    threading.Thread(
        target=_follow_stop_requests, args=(settings.home, over), name="stop-requests", daemon=True
    ).start()
    log.info("bridge %s serving at %s in %s mode", __version__, url, runtime.mode)
    echo(f"aihd-bridge {__version__} at {url} ({runtime.mode} mode), data in {settings.home}")
    try:
        server.run()  # returns when a signal raised SystemExit in it
        log.info("stopping on %s", stopped_by[0] if stopped_by else "request")
    finally:
        # Stop taking work first, then let uploads under way finish for a bounded time.
        over.set()
        server.close()
        runtime.stop(SHUTDOWN_GRACE)
        remove_info(settings.home, os.getpid())
        for sig, old in previous.items():
            signal.signal(sig, old)
        log.info("bridge stopped")
        teardown_logging(handler)
        sys.stdout.flush()


def _follow_stop_requests(home: Path, over: threading.Event) -> None:
    """`stop` where there are no signals to send (Windows) leaves a request: end as on SIGTERM."""
    while not over.wait(STOP_POLL):
        if stop_asked(home, os.getpid()):
            _thread.interrupt_main(signal.SIGTERM)
            return


def _listen(app, port: int):
    return create_listener(app, port, app.config["MAX_CONTENT_LENGTH"], header_guard(app))
