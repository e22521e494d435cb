"""`aihd-bridge upload` without a running bridge: send files one by one from this process."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .api import RemoteError
from .backoff import Backoff
from .config import Settings
from .formats import FileProblem
from .remote import SANDBOX_NOTICE, remote_client, send_file


def upload_in_process(settings: Settings, paths: list[Path], service: str, *, attempts: int,
                      backoff: Backoff, show_progress: bool) -> list[dict]:
    if settings.sandbox:
        click.secho(SANDBOX_NOTICE, fg="yellow", err=True)
    total = sum(_size(p) for p in paths)
    results = []
    with remote_client(settings) as client, click.progressbar(
        length=max(total, 1), label="uploading", file=click.get_text_stream("stderr"),
        hidden=not show_progress, show_eta=True,
    ) as bar:
        for path in paths:
            done_before = bar.pos
            sent = lambda n: bar.update(done_before + min(n, _size(path)) - bar.pos)
            result = {"path": str(path), "service_name": service, "ok": False,
                      "order_id": None, "error": None, "attempts": 0}
            for attempt in range(1, attempts + 1):
                result["attempts"] = attempt
                try:
                    result["order_id"] = send_file(client, path, service, settings, sent)
                    result["ok"] = True
                    break
                except FileProblem as exc:
                    result["error"] = str(exc)
                    break
                except RemoteError as exc:
                    result["error"] = f"{path}: {exc}"
                    if not exc.retryable or attempt == attempts:
                        break
                    time.sleep(backoff.delay(attempt, exc))
            bar.update(done_before + _size(path) - bar.pos)
            results.append(result)
    return results


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0
