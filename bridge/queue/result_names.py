"""The names a result is written under: beside its photo's name in a folder listing, and
short enough for any file system (255 bytes a name) whatever the photo was called.

While it downloads a result is `.<stem>.<item id>.part`; once whole it is `<stem><ext>`, or
`<stem> (n)<ext>` when that is taken. So the stem keeps room for both: a long photo name is cut
(at a character, not inside one); results that end up alike are told apart by that `(n)`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.text import printable
from .item import Item

STEM_BYTES = 200  # 255 less ".", ".<item id, up to 40>", ".part"; or " (999)" and ".jpeg"
# MAX_PATH (260 with its final NUL): the longest path many Windows programs open, Lightroom's
# import and Explorer among them, whatever Python itself could write.
WINDOWS_MAX_PATH = 259


def service_short(service: str) -> str:
    return service.removeprefix("service-").removeprefix("tool-").removeprefix("ai-")


def result_stem(item: Item, sequence: int, folder: Path) -> str:
    """`<source stem>_<service>_<n>`, at most STEM_BYTES bytes in UTF-8, no control characters;
    on Windows the source's part is cut further where a name in `folder` would pass MAX_PATH."""
    source = printable(Path(item["filename"] or item["source_path"] or item["id"]).stem).strip()
    tail = f"_{service_short(item['service_name'])}_{sequence}"
    room = STEM_BYTES - len(tail.encode())
    source = source.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
    if sys.platform == "win32":
        longest = max(len(part_name("", item["id"])), len(" (999).jpeg"))  # what names add to the stem
        source = source[: max(0, WINDOWS_MAX_PATH - len(str(folder)) - 1 - len(tail) - longest)]
        source = source.rstrip(" .")  # Windows drops a name's final dots and spaces
    return (source or "result") + tail


def part_name(stem: str, item_id: str) -> str:
    """The hidden name a result is downloaded under, unique to its item."""
    return f".{stem}.{item_id}.part"
