"""How `aihd-bridge open` hands its one-time login link to the browser without putting it on
the browser's command line, where `ps` shows it to every user of the machine: a page in the
data dir that only this user can read, which leads the browser on to the link. It is
rewritten at each `open`; the code in it works once, for a few minutes."""

from __future__ import annotations

import html
from pathlib import Path

from ..core.keystore import write_private

OPENER = "open-status-page.html"


def opener_page(home: Path, url: str) -> Path:
    link = html.escape(url, quote=True)
    return write_private(
        home / OPENER,
        '<!doctype html>\n<meta charset="utf-8">\n<meta name="referrer" content="no-referrer">\n'
        f'<meta http-equiv="refresh" content="0;url={link}">\n<title>AI HomeDesign bridge</title>\n'
        f'<p><a href="{link}">Open the status page</a></p>\n',
    )
