"""Text that came from elsewhere (the remote, a file name) made safe to store and print.

A terminal obeys escape sequences and a log reader trusts line breaks, so control characters
(C0, DEL, C1) and the invisible marks that reorder text (bidi overrides) never pass through.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidi embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None


def printable(text: str) -> str:
    """`text` with each control character (a line break, a tab) turned into a space."""
    return _CONTROLS.sub(" ", text)
