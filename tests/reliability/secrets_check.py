"""Checking that a secret appears nowhere the suite can see."""

from __future__ import annotations

from pathlib import Path


def assert_no_secret(secret: str, homes: list[Path], texts: list[str] = ()) -> int:
    """The secret is in no file under the homes and in none of the texts; returns files read."""
    checked = 0
    for home in homes:
        for path in home.rglob("*"):
            if path.is_file() and path.name != "api-key":
                assert secret.encode() not in path.read_bytes(), f"the key leaked into {path}"
                checked += 1
    for text in texts:
        assert secret not in text
    return checked
