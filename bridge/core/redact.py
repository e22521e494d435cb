"""Masking an API key in text that came back from elsewhere (a remote's error body, a log line).

A remote may echo the key as sent, in another case, URL-encoded, JSON-escaped or inside a
base64 blob; and a message cut short may end in the first characters of one. So the whole
text is scrubbed before it is cut, and its end once more after the cut.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable

from .text import printable

MASK = "***"
MIN_PREFIX = 4  # the first 3 characters are shown by `config show` anyway (keystore.mask)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every form of each secret masked, and a secret's first characters too
    where the text ends in them."""
    for secret in secrets:
        if secret:
            for whole, tail in _patterns(secret):
                text = tail.sub(MASK, whole.sub(MASK, text))
    return text


def snippet(text: str, limit: int, secrets: Iterable[str | None]) -> str:
    """At most about `limit` characters of `text` on one line, without control characters,
    scrubbed before and after the cut."""
    secrets = list(secrets)
    text = scrub(" ".join(printable(text).split()), secrets)
    if len(text) <= limit:
        return text
    return scrub(text[: limit - 1], secrets) + "…"


@functools.lru_cache(maxsize=8)
def _patterns(secret: str) -> tuple[tuple[re.Pattern, re.Pattern], ...]:
    """(whole, tail) regex pairs: the secret in any case, URL-encoded or JSON-escaped, char by
    char; and the parts of its base64 encodings that do not depend on neighbouring bytes."""
    chars = [_char(c) for c in secret]
    found = [(re.compile("".join(chars), re.IGNORECASE), re.compile(_tail(chars), re.IGNORECASE))]
    for core in _base64_cores(secret):
        literal = [re.escape(c) for c in core]
        found.append((re.compile("".join(literal)), re.compile(_tail(literal))))
    return tuple(found)


def _char(c: str) -> str:
    """One character of the secret as it may be written back: itself (any case), %XX per
    UTF-8 byte, or a JSON \\uXXXX escape."""
    percent = "".join(f"%{b:02x}" for b in c.encode())
    forms = [re.escape(c), re.escape(percent)]
    if ord(c) <= 0xFFFF:
        forms.append(re.escape(f"\\u{ord(c):04x}"))
    return "(?:" + "|".join(forms) + ")"


def _tail(parts: list[str]) -> str:
    """The first MIN_PREFIX or more parts, at the very end of the text."""
    nested = ""
    for part in reversed(parts[MIN_PREFIX:]):
        nested = f"(?:{part}{nested})?"
    return "".join(parts[:MIN_PREFIX]) + nested + r"\Z"


def _base64_cores(secret: str) -> set[str]:
    """For a secret starting at byte offset 0, 1 or 2 of a 3-byte group, in the standard and
    the URL-safe alphabet: the base64 characters made of the secret's bits alone."""
    raw = secret.encode()
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0").decode()
        start = -(-8 * shift // 6)  # the first character with no bits of the bytes before
        end = 8 * (shift + len(raw)) // 6  # the last one with no bits of the bytes after
        core = encoded[start:end]
        if len(core) >= MIN_PREFIX:
            cores.update({core, core.translate(str.maketrans("+/", "-_"))})
    return cores
