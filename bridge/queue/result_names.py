"""The names a result is written under: beside its photo's name in a folder listing, and
short enough for any file system (255 bytes a name) whatever the photo was called.

While it downloads a result is `.<stem>.<item id>.part`; once whole it is `<stem><ext>`, or
`<stem> (n)<ext>` when that is taken. So the stem keeps room for both: a long photo name is cut
(at a character, not inside one); results that end up alike are told apart by that `(n)`.
"""

from __future__ import annotations

from pathlib import Path

from ..text import printable
from .item import Item

STEM_BYTES = 200  # 255 less ".", ".<item id, up to 40>", ".part"; or " (999)" and ".jpeg"


def service_short(service: str) -> str:
    return service.removeprefix("service-").removeprefix("tool-").removeprefix("ai-")


def result_stem(item: Item, sequence: int) -> str:
    """`<source stem>_<service>_<n>`, at most STEM_BYTES bytes in UTF-8, no control characters."""
    source = printable(Path(item["filename"] or item["source_path"] or item["id"]).stem).strip()
    tail = f"_{service_short(item['service_name'])}_{sequence}"
    room = STEM_BYTES - len(tail.encode())
    return (source.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore") or "result") + tail


def part_name(stem: str, item_id: str) -> str:
    """The hidden name a result is downloaded under, unique to its item."""
    return f".{stem}.{item_id}.part"
