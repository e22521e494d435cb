"""`aihd-bridge watch`: through the running bridge, which starts (or stops) watching at once and
keeps the list in config.toml; with no bridge running, in config.toml for its next start.
The bridge's errors (a folder it refuses) and config.toml's rise to `BridgeGroup` as they are."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..core.config import Settings
from ..discovery import running_bridge
from ..photo.rules import Rules
from ..watch.entries import WatchProblem, config_watches, drop_watch, entry_from, entry_problem, save_watch
from .exit_status import CliError

NOT_RUNNING = "the bridge is not running; start it with: aihd-bridge serve"


def add_watch(settings: Settings, fields: dict, as_json: bool) -> None:
    given = {k: v for k, v in fields.items() if v not in (None, False)}
    payload = {k: _absolute(v) if isinstance(v, Path) else v for k, v in given.items()}
    bridge = running_bridge(settings.home)
    if bridge is not None:
        view = bridge.post("/v1/watches", payload)
        mode = bridge.get("/v1/health").get("mode")
    else:
        try:
            entry = entry_from(payload)
            problem = entry_problem(entry, Rules.load(settings.home), settings.home, must_exist=True)
            if problem:
                raise WatchProblem(problem)
            save_watch(settings.home, entry)
        except WatchProblem as exc:
            raise CliError(str(exc)) from None
        view, mode = {**payload, "state": "saved"}, None
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    folder = view["dir"]
    if view["state"] == "saved":
        click.echo(f"saved: {folder} for {_what(view)}, watched from the bridge's next start; {NOT_RUNNING}")
    else:
        click.echo(f"watching {folder} for {_what(view)} ({_noticing(view)})")
    click.echo(
        f"each photo saved or copied into it is sent once, and gets its order id in <photo>.aihd.json "
        f"beside it; subfolders named after a service or preset choose it ({Path(folder) / 'day-to-dusk'})"
    )
    if mode == "sandbox":
        click.secho("sandbox mode (no API key): orders go to the stand-in API, not the real one", fg="yellow")
    click.echo(f"kept in {settings.home / 'config.toml'}; stop with: aihd-bridge watch --remove {folder}")


def list_watches(settings: Settings, as_json: bool) -> None:
    bridge = running_bridge(settings.home)
    if bridge is not None:
        views = bridge.get("/v1/watches")["watches"]
    else:
        entries = config_watches(settings.home)
        views = [
            {"dir": str(e.dir), "service": e.service, "preset": e.preset, "state": "saved"} for e in entries
        ]
    if as_json:
        click.echo(json.dumps({"running": bridge is not None, "watches": views}, indent=2))
        return
    if not views:
        click.echo("no folder is watched; add one with: aihd-bridge watch FOLDER [--service NAME]")
    for view in views:
        click.echo(f"{view['dir']}  {_what(view)}  {_how(view)}")
    if bridge is None and views:
        click.echo(NOT_RUNNING)


def remove_watch(settings: Settings, folder: Path, as_json: bool) -> None:
    path = _absolute(folder)
    bridge = running_bridge(settings.home)
    if bridge is not None:
        view = bridge.post("/v1/watches/remove", {"dir": path})
    elif drop_watch(settings.home, Path(path)) is None:
        raise CliError(f"{path} is not watched")
    else:
        view = {"dir": path, "state": "removed"}
    click.echo(json.dumps(view, indent=2) if as_json else f"no longer watching {path}")


def _absolute(path: Path) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _noticing(view: dict) -> str:
    if view.get("problem"):  # e.g. file events stopped, and how it looks instead
        return view["problem"]
    return "file events" if view.get("mode") == "events" else "looking every second"


def _what(view: dict) -> str:
    if view.get("service"):
        return view["service"].removeprefix("service-")
    return f"preset {view['preset']}" if view.get("preset") else "auto (the service chosen from each photo)"


def _how(view: dict) -> str:
    state = view["state"]
    if state == "watching":
        taken, settling = view["files_sent"], view["settling"]
        return f"watching ({_noticing(view)}), {taken} files taken, {settling} being written"
    if state == "saved":
        return "saved, watched once the bridge runs"
    return f"{state}: {view['problem']}" if view.get("problem") else state
