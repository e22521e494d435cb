"""`aihd-bridge setup`: the set-up's steps (`setup/machine.py`) with their lines printed and
their failures as one line."""

from __future__ import annotations

from pathlib import Path

import click

from ..setup.machine import SetupError, first_photo, set_up, tear_down
from .exit_status import CliError


def set_up_here(home: Path, *, plugin: bool, login: bool) -> Path | None:
    """Set up; the photo of the first upload, or None in live mode (a real order, not a test)."""
    try:
        mode = set_up(home, plugin=plugin, login=login, echo=click.echo)
    except (SetupError, OSError) as exc:
        raise CliError(str(exc)) from None
    if mode != "sandbox":
        click.echo("live mode: no test photo is sent (it would be an order on your account)")
        return None
    click.echo("first upload (a generated photo) to the sandbox:")
    return first_photo(home)


def tear_down_here(home: Path, purge: bool) -> None:
    try:
        tear_down(home, purge=purge, echo=click.echo)
    except (SetupError, OSError) as exc:
        raise CliError(str(exc)) from None
