"""The files under a folder, walked with a list of folders still to look into rather than by
recursion: a folder nested a thousand levels deep (watchdog's own walks die of it, and so does
`os.walk` before Python 3.12) is walked like any other."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator


def files_under(top: str, look_into: Callable[[str], bool]) -> Iterator[str]:
    """The path of each file under `top` that is not a folder (links to files included, links
    to folders not followed); `look_into(path)` says whether to enter a folder. A folder that
    cannot be read is passed over."""
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                found = list(entries)
        except OSError:
            continue
        for entry in found:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if look_into(entry.path):
                        pending.append(entry.path)
                elif not entry.is_symlink() or entry.is_file():
                    yield entry.path
            except OSError:
                continue
