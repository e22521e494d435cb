"""What the bridge reads from a file and which service it would pick: for `inspect`."""

from __future__ import annotations

from pathlib import Path

from .formats import FileProblem, check_file
from .rules import AUTO, Rules, RulesError


def inspect_file(
    path: Path, rules: Rules, max_bytes: int, *, service: str | None = None, preset: str | None = None
) -> dict:
    from .metadata import MetadataError, read_metadata

    report: dict = {"path": str(path)}
    try:
        fmt, size = check_file(path, max_bytes)
    except FileProblem as exc:
        return report | {"error": str(exc)}
    report.update(format=fmt.name, mime=fmt.mime, size=size)
    try:
        meta = read_metadata(path)
        report["metadata"] = meta.to_dict()
    except MetadataError as exc:
        meta = None
        report["metadata"], report["metadata_error"] = {}, str(exc)
    chosen = rules.presets.get(preset or AUTO)
    try:
        if meta is not None and not service and chosen is not None and chosen.service == AUTO:
            choice = rules.decide(meta, fmt)  # the metadata is read already: not twice
        else:
            choice = rules.choose(path, fmt, service=service, preset=preset)
    except RulesError as exc:
        return report | {"error": f"{path}: {exc}"}
    return report | {"service_name": choice.service_name, "reason": choice.reason, "rule": choice.rule}
