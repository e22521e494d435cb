import io
from pathlib import Path

import pytest

from bridge.photo import formats
from bridge.photo.formats import FileProblem, check_file, detect, prepared

LIMIT = 50_000_000


def test_detection_agrees_with_exiftool(samples, expected):
    for name, facts in expected.items():
        with (samples / name).open("rb") as fh:
            fmt = detect(fh)
        assert fmt is not None, name
        # ExifTool says "Extended WEBP" for a VP8X file; the format is WEBP all the same.
        assert facts["FileType"].split()[-1] == fmt.name, name
        assert check_file(samples / name, LIMIT)[0] == fmt


def test_detection_ignores_the_extension(samples, tmp_path):
    disguised = tmp_path / "export.tmp"
    disguised.write_bytes((samples / "Nikon.nef").read_bytes())
    fmt, size = check_file(disguised, LIMIT)
    assert fmt.name == "NEF" and size == disguised.stat().st_size
    assert formats.upload_name(disguised, fmt) == "export.nef"


@pytest.mark.parametrize(
    "header,name",
    [
        (b"II*\x00\x08\x00\x00\x00" + b"\x00" * 8, "TIFF"),
        (b"IIRO\x08\x00\x00\x00", "ORF"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
    ],
)
def test_more_magic(header, name):
    assert detect(io.BytesIO(header + b"\x00" * 64)).name == name


def _problem(path: Path, limit=LIMIT) -> str:
    with pytest.raises(FileProblem) as info:
        check_file(path, limit)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return info.value.reason


def test_bad_files_give_one_line_reasons(tmp_path, make_jpeg):
    assert _problem(tmp_path / "missing.jpg") == "file not found"
    assert "folder" in _problem(tmp_path)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert _problem(empty) == "is empty"
    noise = tmp_path / "noise.jpg"
    noise.write_bytes(bytes(range(256)) * 40)
    assert "not a photo format" in _problem(noise)
    good = make_jpeg(size=(400, 300))
    data = good.read_bytes()
    for cut in (3, 20, len(data) // 2, len(data) - 2):
        cut_file = tmp_path / f"cut-{cut}.jpg"
        cut_file.write_bytes(data[:cut])
        assert "cut short" in _problem(cut_file) or "no image data" in _problem(cut_file)
    assert check_file(good, LIMIT)[0].name == "JPEG"


def test_over_the_limit_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.dng"
    with big.open("wb") as fh:
        fh.write(b"II*\x00\x08\x00\x00\x00")
        fh.truncate(LIMIT + 1)  # sparse: costs no disk
    assert "over the API's limit of 50.0 MB" in _problem(big)
    assert check_file(big, LIMIT + 1)[0].name == "TIFF"


def test_truncated_png(samples, tmp_path):
    cut = tmp_path / "cut.png"
    cut.write_bytes((samples / "PNG.png").read_bytes()[:-20])
    assert "cut short" in _problem(cut)


def test_heic_becomes_jpeg_with_exif(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    pillow_heif.register_heif_opener()
    src = tmp_path / "IMG_0001.HEIC"
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    Image.new("RGB", (64, 64), (10, 200, 30)).save(src, "HEIF", exif=exif.tobytes())
    fmt, _ = check_file(src, LIMIT)
    with prepared(src, fmt) as up:
        assert up.filename == "IMG_0001.jpg" and up.mime == "image/jpeg"
        with Image.open(up.path) as im:
            assert im.format == "JPEG" and im.getexif()[0x010F] == "Apple"
        converted = up.path
    assert not converted.exists()  # the temporary JPEG is cleaned up
    with prepared(src, fmt, convert_heic=False) as up:
        assert up.path == src and up.mime == fmt.mime


def test_undecodable_heic_says_so(samples):
    path = samples / "QuickTime.heic"  # headers only, no pixels
    fmt, _ = check_file(path, LIMIT)
    with pytest.raises(FileProblem, match="cannot be converted from HEIC"), prepared(path, fmt):
        pass


def test_jpeg_with_a_trailer_is_whole(make_jpeg, tmp_path):
    # Phones append a video after the JPEG's end marker ("motion photos"): still a whole JPEG.
    photo = make_jpeg(size=(300, 200))
    motion = tmp_path / "motion.jpg"
    motion.write_bytes(photo.read_bytes() + b"\x00\x00\x00\x18ftypmp42" + bytes(300_000))
    assert check_file(motion, LIMIT)[0].name == "JPEG"
    cut = tmp_path / "cut-motion.jpg"
    cut.write_bytes(photo.read_bytes()[: len(photo.read_bytes()) // 2] + bytes(300_000))
    assert "cut short" in _problem(cut)
