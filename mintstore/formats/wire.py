"""Small value codings shared by the wire formats.

Each format spells a few things the same way (the ``exclude`` flag, base64,
decimal integers, the encapsulated-fragment list); keeping the spelling and
its strict parsing here means one rule, one error message.
"""

from __future__ import annotations

import base64
import binascii
import re

from mintstore.errors import InvalidMetadata

_DECIMAL = re.compile(r"[0-9]{1,20}\Z")
_FRAGMENTS = re.compile(r"[0-9]+(,[0-9]+)*(;[0-9]+(,[0-9]+)*)*\Z")

EXCLUDE_TRUE = "true"


def parse_exclude(value: str | None) -> bool:
    """MINT rule: a present ``exclude`` means true unless it says false or 0."""
    if value is None:
        return False
    return value.strip().lower() not in ("false", "0")


def parse_flag(value: str | None) -> bool:
    """Our boolean extension attributes read like ``exclude``: present and not false/0."""
    return parse_exclude(value)


def parse_uint(text: str, what: str, maximum: int) -> int:
    """A plain decimal integer in ``0..maximum`` (no sign, no spaces)."""
    if not _DECIMAL.match(text):
        raise InvalidMetadata(f"{what} {text[:40]!r} is not a decimal number")
    value = int(text)
    if value > maximum:
        raise InvalidMetadata(f"{what} {value} is out of range")
    return value


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_base64(text: str, what: str) -> bytes:
    """Strict base64: garbage characters are an error, not silently dropped."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidMetadata(f"{what} is not valid base64") from None


def format_fragments(frames: list[list[int]]) -> str:
    """Fragment lengths per frame as ``"l1,l2;l3"``: commas within a frame, semicolons between."""
    return ";".join(",".join(str(length) for length in frame) for frame in frames)


def parse_fragments(text: str, what: str) -> list[list[int]]:
    """Inverse of :func:`format_fragments`; ``""`` is no frames."""
    if text == "":
        return []
    if not _FRAGMENTS.match(text):
        raise InvalidMetadata(f"{what} {text[:40]!r} is not a fragment list like '1,2;3'")
    return [[int(length) for length in frame.split(",")] for frame in text.split(";")]
