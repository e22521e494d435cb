"""Download one result image: resumable, checked, and written atomically.

The bytes go to a `.part` file beside the result; a cut download resumes from what the part
holds (a Range request), and only a complete file whose length is the announced one and
whose bytes are an image is renamed to its final name. So a result is either all there or
not there at all, whatever happens meanwhile (a crash, a full disk, a cut connection).
The API key is never sent with a download: results may live on another host.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..core.replacing import replace
from ..photo.formats import FileProblem, ImageFormat, check_file
from .client import RemoteError, _network_cause

if TYPE_CHECKING:
    import requests

BLOCK = 1 << 20
MAX_RESULT_BYTES = 200_000_000  # no generated image comes near it; a bound on a runaway body


class BadResult(Exception):
    """What came is not a usable image (wrong length, not an image, cut inside)."""


class ResultHostError(RemoteError):
    """An HTTP error from the host serving a result: not the API's words about the key."""

    def describe(self) -> str:
        return f"the result's host answered HTTP {self.status}"


@dataclass(frozen=True)
class Fetched:
    path: Path  # the .part file, complete and checked, not yet renamed
    sha256: str
    size: int
    format: ImageFormat


def fetch(session: requests.Session, url: str, part: Path, timeout: tuple[float, float]) -> Fetched:
    """Download `url` into `part`, resuming from what it holds; RemoteError for the network
    or an HTTP error (retry later: the part keeps what came), BadResult for bytes that are
    not a whole image (the part is removed: the next try starts over)."""
    import requests

    if urlsplit(url).scheme not in ("http", "https"):
        raise BadResult(f"the result's address is not a web address: {url[:80]}")
    have = part.stat().st_size if part.exists() else 0
    # Identity: a compressed body could unpack to any size; the cap counts what is written.
    headers = {"Accept-Encoding": "identity"} | ({"Range": f"bytes={have}-"} if have else {})
    digest = hashlib.sha256()
    runaway = False
    try:
        with session.get(url, headers=headers, stream=True, timeout=timeout) as resp:
            if resp.status_code == 416:  # the part already holds it all, or is not a prefix
                part.unlink(missing_ok=True)
                raise RemoteError(status=416, message="the download starts over", retryable=True)
            total = _total(resp, have)
            if resp.status_code == 200:
                have = 0  # the server sends it all again
            elif resp.status_code != 206:
                raise ResultHostError(
                    status=resp.status_code,
                    message="",
                    retryable=resp.status_code in (408, 429) or resp.status_code >= 500,
                )
            if total is not None and total > MAX_RESULT_BYTES:
                raise BadResult(f"the result is {total:,} bytes, more than any image should be")
            with part.open("r+b" if have else "wb") as out:
                if have:
                    for block in iter(lambda: out.read(BLOCK), b""):  # hash what came before
                        digest.update(block)
                out.seek(have)
                out.truncate()
                with _Hasher(digest) as hasher:
                    for block in resp.iter_content(BLOCK):
                        if out.tell() + len(block) > MAX_RESULT_BYTES:  # no length, or a false one
                            runaway = True
                            break
                        out.write(block)
                        hasher.update(block)
                out.flush()
                os.fsync(out.fileno())  # on disk before it may take its final name
                size = out.tell()
    except requests.RequestException as exc:
        raise RemoteError(status=None, cause=_network_cause(exc), message="", retryable=True) from None
    if runaway:
        part.unlink(missing_ok=True)
        raise BadResult(f"the result ran past {MAX_RESULT_BYTES:,} bytes, more than any image; not kept")
    if total is not None and size != total:
        if size < total:  # the connection ended early without an error: resume next time
            raise RemoteError(status=None, cause="the download stopped short", message="", retryable=True)
        part.unlink(missing_ok=True)
        raise BadResult(f"the result came with {size:,} bytes where {total:,} were announced")
    try:
        fmt, _ = check_file(part, MAX_RESULT_BYTES)
    except FileProblem as exc:
        part.unlink(missing_ok=True)
        raise BadResult(f"the result is not a usable image ({exc.reason})") from None
    return Fetched(part, digest.hexdigest(), size, fmt)


class _Hasher:
    """Hashes blocks in a thread of its own while the next ones arrive: sha256 and the socket
    both release the GIL, so on two cores most of the hashing overlaps the download."""

    def __init__(self, digest: hashlib._Hash) -> None:
        self._digest = digest
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)  # at most 8 MB waiting
        self._thread = threading.Thread(target=self._run, name="result-sha256", daemon=True)

    def __enter__(self) -> _Hasher:
        self._thread.start()
        return self

    def update(self, block: bytes) -> None:
        self._blocks.put(block)

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            self._digest.update(block)

    def __exit__(self, *exc: object) -> None:
        self._blocks.put(None)
        self._thread.join()


def _total(resp: requests.Response, have: int) -> int | None:
    """The whole file's length, from Content-Range (a resumed download) or Content-Length."""
    if resp.status_code == 206:
        found = re.fullmatch(r"bytes (\d+)-\d+/(\d+)", resp.headers.get("Content-Range", ""))
        if not found or int(found.group(1)) != have:
            raise RemoteError(status=206, message="the server resumed at the wrong place", retryable=True)
        return int(found.group(2))
    length = resp.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def place(fetched: Fetched, folder: Path, stem: str) -> Path:
    """Give a checked download its final name, `<stem><ext>`, or `<stem> (2)<ext>` ... when
    that name holds something else; the same bytes already there are kept, not doubled."""
    ext = fetched.format.extensions[0]
    for n in range(1, 1000):
        final = folder / (f"{stem}{ext}" if n == 1 else f"{stem} ({n}){ext}")
        try:
            os.link(fetched.path, final)  # never replaces: a name is taken whole or not at all
        except FileExistsError:
            if _sha256(final) == fetched.sha256:
                break
            continue
        except OSError:  # a file system without hard links (exFAT, some shares)
            try:  # the name is made ours first: the rename then replaces only our empty file
                os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                if _sha256(final) == fetched.sha256:
                    break
                continue
            replace(fetched.path, final)
            return final
        break
    else:
        raise BadResult(f"no free name for {stem}{ext} in {folder}")
    fetched.path.unlink(missing_ok=True)
    return final


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(BLOCK), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()
