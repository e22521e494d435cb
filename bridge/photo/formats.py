"""What kind of file is this, may it be sent, and in what form.

Formats are told by their magic bytes, never by the extension. Checks read only
file headers and tails (bounded reads and seeks), so a 50 MB RAW costs a few KB.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

HEAD_BYTES = 64


@dataclass(frozen=True)
class ImageFormat:
    name: str  # as ExifTool's FileType names it: JPEG, CR3, HEIF ...
    mime: str
    extensions: tuple[str, ...]
    raw: bool = False


def _fmt(name: str, mime: str, *exts: str, raw: bool = False) -> ImageFormat:
    return ImageFormat(name, mime, exts or (f".{name.lower()}",), raw)


FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        _fmt("JPEG", "image/jpeg", ".jpg", ".jpeg", ".jpe"),
        _fmt("PNG", "image/png"),
        _fmt("WEBP", "image/webp"),
        _fmt("HEIC", "image/heic", ".heic"),
        _fmt("HEIF", "image/heif", ".heif", ".heic", ".hif"),
        _fmt("TIFF", "image/tiff", ".tif", ".tiff"),
        _fmt("DNG", "image/x-adobe-dng", raw=True),
        _fmt("CR2", "image/x-canon-cr2", raw=True),
        _fmt("CR3", "image/x-canon-cr3", raw=True),
        _fmt("NEF", "image/x-nikon-nef", raw=True),
        _fmt("ARW", "image/x-sony-arw", raw=True),
        _fmt("PEF", "image/x-pentax-pef", raw=True),
        _fmt("RAF", "image/x-fujifilm-raf", raw=True),
        _fmt("RW2", "image/x-panasonic-rw2", raw=True),
        _fmt("ORF", "image/x-olympus-orf", raw=True),
        _fmt("MRW", "image/x-minolta-mrw", raw=True),
        _fmt("IIQ", "image/x-raw", raw=True),
        _fmt("X3F", "image/x-sigma-x3f", raw=True),
    )
}

# ISO BMFF major brands of HEIF images (HEIC when the codec is HEVC).
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
# TIFF-based RAWs that only the camera maker in IFD0 tells apart.
_TIFF_BY_MAKE = (("NIKON", "NEF"), ("SONY", "ARW"), ("PENTAX", "PEF"), ("RICOH", "PEF"))
_TAG_MAKE, _TAG_DNG_VERSION = 0x010F, 0xC612


class FileProblem(Exception):
    """A file that cannot be sent, with a reason a photographer can read."""

    def __init__(self, path: os.PathLike | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class Readable(Protocol):
    """What format detection and metadata reading need of a file: a real one, or a bounded
    view of one (`metadata.bounded.LimitedFile`)."""

    def read(self, n: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...


def detect(fh: Readable) -> ImageFormat | None:
    """The format of an open file by its leading bytes, or None when it is no photo we know."""
    fh.seek(0)
    head = fh.read(HEAD_BYTES)
    if head.startswith(b"\xff\xd8\xff"):
        return FORMATS["JPEG"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FORMATS["PNG"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FORMATS["WEBP"]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"crx ":
            return FORMATS["CR3"]
        if brand in _HEIC_BRANDS:
            return FORMATS["HEIC"]
        if brand in _HEIF_BRANDS:
            return FORMATS["HEIF"]
        return None
    for magic, name in (
        (b"FUJIFILMCCD-RAW", "RAF"),
        (b"\x00MRM", "MRW"),
        (b"FOVb", "X3F"),
        (b"IIU\x00", "RW2"),
        (b"IIRO", "ORF"),
        (b"IIRS", "ORF"),
        (b"MMOR", "ORF"),
    ):
        if head.startswith(magic):
            return FORMATS[name]
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return FORMATS[_tiff_variant(fh, head)]
    return None


def _tiff_variant(fh: Readable, head: bytes) -> str:
    if head[8:10] == b"CR":
        return "CR2"
    if head[8:12] == b"IIII":
        return "IIQ"
    endian = "<" if head[:2] == b"II" else ">"
    make, is_dng = _ifd0_make(fh, endian, struct.unpack(endian + "I", head[4:8])[0])
    if is_dng:
        return "DNG"
    for prefix, name in _TIFF_BY_MAKE:
        if make.upper().startswith(prefix):
            return name
    return "TIFF"


def _ifd0_make(fh: Readable, endian: str, offset: int) -> tuple[str, bool]:
    """Camera make and whether a DNGVersion tag is present, from the first IFD."""
    fh.seek(offset)
    raw = fh.read(2)
    if len(raw) < 2:
        return "", False
    count = min(struct.unpack(endian + "H", raw)[0], 256)
    entries = fh.read(12 * count)
    make, is_dng = "", False
    for tag, typ, n, value in struct.iter_unpack(endian + "HHI4s", entries[: len(entries) // 12 * 12]):
        if tag == _TAG_DNG_VERSION:
            is_dng = True
        elif tag == _TAG_MAKE and typ == 2:
            if n <= 4:
                text = value[:n]
            else:
                fh.seek(struct.unpack(endian + "I", value)[0])
                text = fh.read(min(n, 64))
            make = text.split(b"\x00")[0].decode("latin-1").strip()
        elif tag > _TAG_DNG_VERSION:  # entries are sorted by tag: nothing we need follows
            break
    return make, is_dng


# Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer (the
# handle is then refused as no regular file); no controlling terminal from a tty.
OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def check_file(path: Path, max_bytes: int) -> tuple[ImageFormat, int]:
    """Everything that can be known without sending: exists, readable, size, format, whole.

    Returns the format and the size, or raises FileProblem with the reason.
    """
    with open_photo(path, max_bytes) as (_, fmt, st):
        return fmt, st.st_size


@contextlib.contextmanager
def open_photo(path: Path, max_bytes: int) -> Iterator[tuple[BinaryIO, ImageFormat, os.stat_result]]:
    """Open `path` once and check the file from that handle: regular, size, format, whole.

    Yields the open handle, the format and the handle's stat, so that what is kept afterwards
    is the very file that was checked, even if the path is swapped meanwhile (a symlink
    repointed, a FIFO put in its place). Raises FileProblem with the reason.
    """
    try:
        _refuse_kind(path, path.stat())  # a device or FIFO by name is refused unopened
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        raise FileProblem(path, "file not found") from None
    except OSError as exc:
        raise FileProblem(path, f"cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        try:
            st = os.fstat(fd)
            _refuse_kind(path, st)  # what counts is what was opened, not what the path named
            fmt = _check_open(path, fh, st.st_size, max_bytes)
        except OSError as exc:
            raise FileProblem(path, f"cannot be read ({exc.strerror or exc})") from None
        yield fh, fmt, st


def _refuse_kind(path: Path, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise FileProblem(path, "is a folder, not a photo")
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem(path, "is not a regular file")


def _check_open(path: Path, fh: BinaryIO, size: int, max_bytes: int) -> ImageFormat:
    if size == 0:
        raise FileProblem(path, "is empty")
    if size > max_bytes:
        raise FileProblem(path, f"is {_mb(size)}, over the API's limit of {_mb(max_bytes)}")
    fmt = detect(fh)
    if fmt is None:
        raise FileProblem(path, "is not a photo format the API takes (JPEG, PNG, WEBP, HEIC or RAW)")
    problem = _integrity_problem(fh, fmt, size)
    if problem:
        raise FileProblem(path, problem)
    return fmt


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def _integrity_problem(fh: BinaryIO, fmt: ImageFormat, size: int) -> str | None:
    """Catch the commonest damage, a cut-off file, where the format makes it cheap to see."""
    if fmt.name == "JPEG":
        return _jpeg_problem(fh, size)
    if fmt.name == "PNG":
        fh.seek(max(0, size - 12))
        if b"IEND" not in fh.read(12):
            return "is cut short (the PNG has no end marker)"
    return None


def _jpeg_problem(fh: BinaryIO, size: int) -> str | None:
    # Walk the marker segments up to the image data (reading 4 bytes a segment),
    # then require an end-of-image marker in the tail after it.
    pos = 2
    while True:
        fh.seek(pos)
        marker = fh.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            return "is cut short or damaged (its JPEG structure breaks off)"
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7 or kind == 0xFF:
            pos += 1 if kind == 0xFF else 2
            continue
        if kind == 0xD9:
            return "has no image data (the JPEG ends before its pixels)"
        length = struct.unpack(">H", marker[2:4])[0]
        if length < 2 or pos + 2 + length > size:
            return "is cut short (a JPEG segment runs past the end of the file)"
        pos += 2 + length
        if kind == 0xDA:  # start of scan: entropy-coded data follows
            break
    # The marker is almost always in the last bytes: look there first. Some cameras append
    # data after it (phone "motion photos" add a whole video), so when the tail has none,
    # scan the image data itself, where FF D9 can only be the end marker.
    for window in (4096, 65536):
        tail_start = max(pos, size - window)
        fh.seek(tail_start)
        if b"\xff\xd9" in fh.read(size - tail_start):
            return None
        if tail_start == pos:
            return "is cut short (the JPEG has no end-of-image marker)"
    fh.seek(pos)
    carry = b""
    while chunk := fh.read(1 << 20):
        if b"\xff\xd9" in carry + chunk:
            return None
        carry = chunk[-1:]
    return "is cut short (the JPEG has no end-of-image marker)"


@dataclass(frozen=True)
class UploadFile:
    """The bytes to send and how to name them."""

    path: Path
    filename: str
    mime: str
    converted_from: str | None = None


def upload_name(path: Path, fmt: ImageFormat) -> str:
    """The file's own name, with the right extension when the host gave it a temporary one."""
    if path.suffix.lower() in fmt.extensions:
        return path.name
    return path.stem + fmt.extensions[0]


@contextlib.contextmanager
def prepared(path: Path, fmt: ImageFormat, convert_heic: bool = True) -> Iterator[UploadFile]:
    """Yield the file to upload; HEIC/HEIF becomes a temporary high-quality JPEG by default
    because the API does not promise HEIC. The temporary file is removed afterwards."""
    if not (convert_heic and fmt.name in ("HEIC", "HEIF")):
        yield UploadFile(path, upload_name(path, fmt), fmt.mime)
        return
    import tempfile  # only HEIC needs it: the rest of the time it is start-up cost

    with tempfile.TemporaryDirectory(prefix="aihd-heic-") as tmp:
        out = Path(tmp) / (path.stem + ".jpg")
        heic_to_jpeg(path, out)
        yield UploadFile(out, out.name, "image/jpeg", converted_from=fmt.name)


def heic_to_jpeg(src: Path, dest: Path, quality: int = 95) -> None:
    # Pillow and pillow-heif load only here: start-up must not pay for them.
    try:
        import pillow_heif
        from PIL import Image

        pillow_heif.register_heif_opener()
        with Image.open(src) as im:
            exif = im.info.get("exif")
            icc = im.info.get("icc_profile")
            im.convert("RGB").save(
                dest, "JPEG", quality=quality, subsampling=0, exif=exif or b"", icc_profile=icc
            )
    except Exception as exc:  # any decoder failure is a property of this file
        raise FileProblem(
            src,
            f"cannot be converted from HEIC to JPEG ({exc}); "
            "it may be damaged, or try --keep-heic to send it as is",
        ) from None
