"""Watch entries: whether one can run, and keeping them as [[watch]] tables in config.toml.

config.toml is the one list of watched folders, whether written by hand or by
`aihd-bridge watch`: the bridge adds and removes tables as text, so the user's comments and
layout stay, and checks the result by parsing it before it replaces the file.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..core.config import CONFIG_FILE, WATCH_HEADER, ConfigError, WatchEntry, line_of, parse_config
from ..core.keystore import write_private
from ..photo.rules import Rules
from ..photo.services import UnknownService, canonical_service


class WatchProblem(ValueError):
    """A watch that cannot be set up, in one line."""


_FLAGS = ("submit", "move_done", "poll")


def entry_from(payload: object) -> WatchEntry:
    """A watch as the local API receives it: `{"dir", "service" | "preset", "submit", "results",
    "move_done", "poll", "project"}`, paths absolute."""
    if not isinstance(payload, dict):
        raise WatchProblem('expected {"dir": "/absolute/folder", "service": ..., ...}')
    paths = {key: absolute_path(payload.get(key), key) for key in ("dir", "results") if key in payload}
    if "dir" not in paths:
        raise WatchProblem("dir must be an absolute path")
    names = {}
    for key in ("service", "preset", "project"):
        value = payload.get(key)
        if value is not None and not (isinstance(value, str) and value):
            raise WatchProblem(f"{key} must be a name")
        names[key] = value
    if names["service"] and names["preset"]:
        raise WatchProblem("a watch takes a service or a preset, not both")
    flags = {key: payload.get(key, False) for key in _FLAGS}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise WatchProblem(f"{', '.join(_FLAGS)} are true or false")
    return WatchEntry(
        dir=paths["dir"],
        service=names["service"],
        preset=names["preset"],
        results=paths.get("results"),
        submit=flags["submit"],
        move_done=flags["move_done"],
        poll=flags["poll"],
        project=names["project"],
    )


def absolute_path(value: object, key: str = "dir") -> Path:
    if not isinstance(value, str) or "\x00" in value or not os.path.isabs(value):
        raise WatchProblem(f"{key} must be an absolute path")
    return Path(os.path.normpath(value))


def entry_problem(entry: WatchEntry, rules: Rules, home: Path, *, must_exist: bool = False) -> str | None:
    """Why this watch cannot run, in one line; None when it can."""
    where = f" (config.toml line {entry.line})" if entry.line else ""
    if entry.service:
        try:
            canonical_service(entry.service)
        except UnknownService as exc:
            return f"{exc}{where}"
    if entry.preset and entry.preset not in rules.presets:
        return f"unknown preset {entry.preset!r} (one of: {', '.join(rules.presets)}){where}"
    folder, data = _absolute(entry.dir), _absolute(home)
    if folder == Path(folder.anchor):
        return f"{folder} is the top of the file system: watch the folder your photos are exported to"
    if folder.is_relative_to(data) or data.is_relative_to(folder):
        return f"{folder} holds the bridge's own data ({home}) or lies in it: watch another folder"
    if must_exist and not entry.dir.is_dir():
        return f"{entry.dir}: no such folder" if not entry.dir.exists() else f"{entry.dir} is not a folder"
    return None


def _absolute(path: Path) -> Path:
    return Path(os.path.realpath(path))


def config_watches(home: Path) -> tuple[WatchEntry, ...]:
    return parse_config(_read(home / CONFIG_FILE), str(home / CONFIG_FILE))["watches"]


def save_watch(home: Path, entry: WatchEntry) -> WatchEntry:
    """Add the watch to config.toml (in place of an earlier one of the same folder); returns it
    as the file now has it."""
    path = home / CONFIG_FILE
    text = _read(path)
    before = parse_config(text, str(path))
    kept = [e for e in before["watches"] if e.dir != entry.dir]
    if len(kept) != len(before["watches"]):
        text = _without(text, before["watches"], entry.dir)
    text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + _table(entry)
    after = _checked(text, path, before, [*kept, entry])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text)  # whole or not at all
    return after[-1]


def drop_watch(home: Path, folder: Path) -> WatchEntry | None:
    """Remove the folder's [[watch]] table from config.toml; the entry removed, if there was one."""
    path = home / CONFIG_FILE
    text = _read(path)
    before = parse_config(text, str(path))
    gone = next((e for e in before["watches"] if e.dir == folder), None)
    if gone is None:
        return None
    text = _without(text, before["watches"], folder)
    _checked(text, path, before, [e for e in before["watches"] if e.dir != folder])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, text)  # whole or not at all
    return gone


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None


def _without(text: str, entries: tuple[WatchEntry, ...], folder: Path) -> str:
    """The text without the [[watch]] table of `folder`: from its header to the next table."""
    nth = next(n for n, e in enumerate(entries) if e.dir == folder)
    start = line_of(text, WATCH_HEADER, nth) - 1
    if start < 0:
        raise ConfigError(
            f"config.toml: the watch of {folder} is not written as a [[watch]] table; change it by hand"
        )
    lines = text.splitlines(keepends=True)
    end = next((n for n in range(start + 1, len(lines)) if re.match(r"[ \t]*\[", lines[n])), len(lines))
    while end > start + 1 and re.fullmatch(r"[ \t]*(#.*)?\n?", lines[end - 1]):
        end -= 1  # blank lines and comments before the next table are the next table's
    if start > 0 and not lines[start - 1].strip() and (end == len(lines) or not lines[end].strip()):
        start -= 1  # no double blank line where the table was
    return "".join(lines[:start] + lines[end:])


def _checked(text: str, path: Path, before: dict, expected: list[WatchEntry]) -> tuple[WatchEntry, ...]:
    """Parse the edited text; it must hold the same settings and exactly the expected watches."""
    after = parse_config(text, str(path))

    def bare(entries: Iterable[WatchEntry]) -> list[WatchEntry]:
        return [dataclasses.replace(e, line=0) for e in entries]

    if bare(after["watches"]) != bare(expected) or {**after, "watches": ()} != {**before, "watches": ()}:
        raise ConfigError(f"{path}: could not change its [[watch]] tables safely; change them by hand")
    return after["watches"]


def _table(entry: WatchEntry) -> str:
    lines = ["[[watch]]", f"dir = {_toml_text(str(entry.dir))}"]
    for key in ("service", "preset", "results"):
        value = getattr(entry, key)
        if value is not None:
            lines.append(f"{key} = {_toml_text(str(value))}")
    lines += [f"{key} = true" for key in _FLAGS if getattr(entry, key)]
    return "\n".join(lines) + "\n"


def _toml_text(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{value!r}: a name config.toml cannot hold (not UTF-8)") from None
    escaped = "".join(
        "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c
        for c in value
    )
    return f'"{escaped}"'
