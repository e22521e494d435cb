"""`aihd-bridge upload`: the photos handed to a bridge (the running one, or one run in this
process) and followed until their uploads end."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ..discovery import BridgeError, LocalBridge
from ..queue.intake import MAX_ITEMS
from .exit_status import CliError

POLL = 0.5


def _result(path, source_id=None, **kw) -> dict:
    return {
        "path": str(path),
        "source_id": source_id if source_id is not None else str(path),
        "ok": False,
        "order_id": None,
        "error": None,
        "service_name": None,
        "reason": None,
        "attempts": 0,
    } | kw


# An items file of the most items a batch takes, each with a long path and source id, is
# well under this; a bigger one is refused before it is read.
MAX_ITEMS_FILE_BYTES = MAX_ITEMS * 5_000


class TooManyItems(ValueError):
    """An items file with more items than a batch takes."""


def _at_most(count: int):
    """A JSON object hook that stops the parse at the `count`+1-th object (an item each), so
    that a file of a million items costs no more than the first ten thousand."""
    seen = 0

    def hook(obj: dict) -> dict:
        nonlocal seen
        seen += 1
        if seen > count:
            raise TooManyItems
        return obj

    return hook


# One photo to hand over: its path, source id, and fields of its own (an items file's "project").
Item = tuple[Path, str, dict]


def read_items(manifest: Path) -> list[Item]:
    """The photos of an items file, `{"items": [{"path", "source_id", "project"?}]}` in UTF-8:
    hosts hand their paths over this way so that no path passes through a shell (quoting, code
    pages). An item's `project` (the property it is of) goes to the bridge with it, before any
    `--project` of the command line."""
    try:
        size = manifest.stat().st_size
        if size > MAX_ITEMS_FILE_BYTES:
            raise CliError(f"{manifest}: {size:,} bytes, more than {MAX_ITEMS:,} items need")
        items = json.loads(manifest.read_text("utf-8"), object_hook=_at_most(MAX_ITEMS + 1))["items"]
        pairs = [(i["path"], str(i["source_id"]), _own_fields(i)) for i in items]
    except TooManyItems:
        raise CliError(
            f"{manifest}: more than {MAX_ITEMS:,} items; hand them over in several files"
        ) from None
    except RecursionError:
        raise CliError(f"{manifest}: nested too deeply to be an items file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"{manifest}: {exc}") from None
    except (KeyError, TypeError):
        pairs = []
    if not pairs or any(not isinstance(path, str) or not path for path, _, _ in pairs):
        raise CliError(
            f'{manifest}: expected {{"items": [{{"path": "...", '
            f'"source_id": "..."}}, ...]}} with at least one item'
        )
    read: list[Item] = []
    for path, source_id, own in pairs:
        if own is None:
            raise CliError(f"{manifest}: an item's \"project\" must be text: the property's name")
        read.append((Path(path), source_id, own))
    return read


def _own_fields(item: dict) -> dict | None:
    """An item's fields of its own, for the bridge: its project when it names one; None when
    it is not text."""
    project = item.get("project")
    if project is None:
        return {}
    if not isinstance(project, str):
        return None
    return {"project": project} if project.strip() else {}


def _bar(total: int, show: bool):
    return click.progressbar(
        length=max(total, 1),
        label="uploading",
        show_eta=True,
        file=sys.stderr,  # click.get_text_stream is deprecated (Click 8.3); CliRunner swaps sys.stderr too
        hidden=not show,
    )


def upload_via_bridge(
    bridge: LocalBridge,
    items: list[Item],
    *,
    service: str | None,
    preset: str | None,
    force: bool,
    show_progress: bool,
    client: str = "cli",
    order: dict | None = None,
) -> tuple[str, list[dict]]:
    """Hand the photos over and follow their uploads; (batch id, one result per photo).
    `order`: what happens after the upload (submit, space, widgets, results_dir, project), for
    every item; an item's own fields (its project) go before it."""
    choice = {"service_name": service} if service else {"preset": preset or "auto"}
    wanted = [
        {"path": str(p.absolute()), "source_id": source_id, "force": force, **choice, **own}
        for p, source_id, own in items
    ]
    try:
        batch_id = bridge.post("/v1/uploads", {"items": wanted, "client": client, **(order or {})})[
            "batch_id"
        ]
    except BridgeError as exc:
        raise CliError(f"the bridge refused the batch: {exc}") from None
    click.echo(f"batch {batch_id} handed to the bridge at {bridge.url}", err=True)
    batch = bridge.get(f"/v1/batches/{batch_id}")
    shown_wait = None
    try:
        with _bar(batch["bytes_total"], show_progress) as bar:
            while True:
                bar.update(batch["bytes_sent"] - bar.pos)
                if batch["finished"]:
                    break
                waits = [i["waiting_until"] for i in batch["items"] if i["waiting_until"]]
                if waits and min(waits) != shown_wait and show_progress:
                    shown_wait = min(waits)
                    click.echo(
                        f"\nwaiting: the API asked to slow down; next try at "
                        f"{time.strftime('%H:%M:%S', time.localtime(shown_wait))}",
                        err=True,
                    )
                time.sleep(POLL)
                batch = bridge.get(f"/v1/batches/{batch_id}")
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"stopped watching; the bridge goes on with batch {batch_id} (see `aihd-bridge status`)"
        ) from None
    return batch_id, [bridge_result(i) for i in batch["items"]]


def bridge_result(item: dict) -> dict:
    """One photo's line of `upload`, from the bridge's view of its item."""
    return _result(
        item["path"],
        item["source_id"],
        ok=item["state"] == "done" and item["order_state"] != "failed",
        order_id=item["order_id"],
        error=item["order_error"]
        if item["order_state"] == "failed"
        else (None if item["state"] == "done" else item["error"] or item["state"]),
        service_name=item["service_name"],
        reason=item["service_reason"],
        attempts=item["attempts"],
        order_state=item["order_state"],
        results=[r["path"] for r in item["results"]],
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0
