"""Which files of a watched folder are photos to send, and which service a subfolder names."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..photo.services import UnknownService, canonical_service

SIDECAR_SUFFIX = ".aihd.json"  # what the bridge writes beside each photo
DONE_FOLDER = "done"  # where photos go once ordered, when the watch moves them

# Names still being written: browsers', download managers', editors' and copy tools' temp names.
_TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
# Other programs' sidecars next to photos: not photos, and not worth a report each.
_COMPANIONS = (".xmp", ".aae", ".pp3", ".dop", ".cos", ".thm", ".lrv")
# Folders and files that file systems and NAS boxes keep in every folder.
_SYSTEM = {"thumbs.db", "desktop.ini", "@eadir", "#recycle", "#snapshot", "$recycle.bin", "lost+found"}


def skipped_folder(name: str) -> bool:
    """Folders never looked into: hidden ones and the file system's own."""
    return name.startswith(".") or name.lower() in _SYSTEM


def skipped(parts: Sequence[str]) -> bool:
    """Whether a file (its path in the watched folder, split) is none of the watch's business:
    hidden files (AppleDouble `._` ones too), temporary names, sidecars, `done/`."""
    if not parts or parts[0] == DONE_FOLDER or any(skipped_folder(p) for p in parts[:-1]):
        return True
    name = parts[-1]
    lower = name.lower()
    return (
        name.startswith((".", "~"))
        or lower in _SYSTEM
        or lower.endswith(SIDECAR_SUFFIX)
        or lower.endswith(_TEMP_SUFFIXES)
        or lower.endswith(_COMPANIONS)
    )


def folder_choice(folders: Sequence[str], presets: Collection[str]) -> dict[str, str]:
    """The service or preset the innermost subfolder named after one chooses (`day-to-dusk/`,
    `service-item-removal/`, a preset of presets.toml), as intake fields; {} when none does."""
    for name in reversed(folders):
        if name in presets:
            return {"preset": name}
        try:
            return {"service_name": canonical_service(name)}
        except UnknownService:
            continue
    return {}


def folder_project(folders: Sequence[str], root_name: str, presets: Collection[str]) -> str:
    """The property a photo of a watched folder belongs to, by default: the folder it sits in,
    or its parent when that folder's name chooses a service or preset (`Maple St/day-to-dusk/`
    is Maple St); the watched folder's own name for a photo at its top."""
    names = [root_name, *folders]
    while len(names) > 1 and folder_choice(names[-1:], presets):
        names.pop()
    return names[-1]
