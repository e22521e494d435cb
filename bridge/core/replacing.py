"""Putting a file in place of another (`os.replace`) where another program may hold the old one
open. Windows refuses that while the file is open without delete sharing (a photo viewer, the
search indexer, an antivirus scan), usually for a moment: the replace is tried again for about
two seconds before the refusal goes up. POSIX never refuses for that reason: it tries once."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

WINDOWS_ATTEMPTS = 10
PAUSE = 0.2  # seconds between attempts


def replace(
    src: str | Path,
    dst: str | Path,
    attempts: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    tries = attempts if attempts is not None else (WINDOWS_ATTEMPTS if sys.platform == "win32" else 1)
    for attempt in range(1, tries + 1):
        try:
            os.replace(src, dst)
            return
        except PermissionError:  # Windows: access denied or a sharing violation
            if attempt == tries:
                raise
            sleep(PAUSE)
