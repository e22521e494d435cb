"""The data dir is its owner's alone, whatever created it first.

It holds clients' photos (the spool), their order history (the database), logs and the
bridge's token. `doctor`, `plugin install` or a login item may have created it under the
user's umask (often 0755 folders, 0644 files); the bridge makes it private on every start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
WRITTEN_DIRS = ("logs", "spool")  # folders the bridge writes files into


def make_private(home: Path) -> None:
    """0700 on the data dir and the folders the bridge writes into, 0600 on the files there.

    A spool entry with more than one link is a hard link to the photographer's own file: its
    mode is theirs and stays; the 0700 folder is what keeps others from it.
    """
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name != "posix":
        return  # Windows: the data dir is in the user's profile, private by its ACL
    _chmod(home, 0o700)
    for folder in (home, *(home / name for name in WRITTEN_DIRS)):
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode) and folder == home and entry.name in WRITTEN_DIRS:
                _chmod(Path(entry.path), 0o700)
            elif stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                _chmod(Path(entry.path), 0o600)


def _chmod(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except OSError as exc:  # e.g. a file another user owns: say so, keep serving
        log.warning("could not make %s private (%s)", path, exc.strerror or exc)
