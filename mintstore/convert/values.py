"""One DICOM value <-> one MINT attribute value, exactly.

The rule that makes the round trip lossless: every value is turned into text
(``val``) only when that text encodes back to the very same bytes; otherwise the
raw bytes are kept in ``data`` as the authoritative value and ``val`` is a best
effort for reading. So readers get text, and reconstruction never guesses.

* Text VRs: ``val`` is the decoded text without trailing spaces and NULs
  (insignificant in DICOM; the RI trimmed them too). It is exact when padding
  it to even length (space, NUL for UI) gives the original bytes; else (more
  padding than one byte, say) ``data`` keeps the original. Values in the
  charset-dependent VRs are decoded with the dataset's Specific Character Set
  (pydicom's codecs, ISO 2022 escapes included) and re-encoded to check.
  Text that XML cannot carry (control characters) is also kept in ``data``.
* Integer VRs and AT: decimal (AT: 8 hex digits) ``val`` joined with ``\\``.
* FL/FD: ``val`` with the shortest repr of each float, plus ``data`` holding
  the raw little-endian bytes (the spec's rule), which is what is written back.
* Binary VRs are handled by the caller (inline ``data`` or binary items).

``data`` of text and integer values holds bytes exactly as they were in the
file; only FL/FD are normalized to little endian.
"""

from __future__ import annotations

import re
import struct

from pydicom.charset import decode_bytes, encode_string

from mintstore.model import Attribute

CHARSET_VRS = frozenset({"SH", "LO", "ST", "LT", "PN", "UC", "UT"})
TEXT_VRS = CHARSET_VRS | {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"}
INT_FORMATS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "UV": "Q", "SV": "q"}
FLOAT_FORMATS = {"FL": "f", "FD": "d"}
DEFAULT_ENCODINGS = ("iso8859",)

_PN_DELIMITERS = {0x5C, 0x3D, 0x5E}
_TEXT_DELIMITERS = {0x5C, 0x0D, 0x0A, 0x09, 0x0C}
# Characters XML 1.0 cannot carry: a value containing one is kept as raw bytes.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _pad_byte(vr: str) -> bytes:
    return b"\x00" if vr == "UI" else b" "


def _uses_charset(vr: str, encodings: tuple[str, ...]) -> bool:
    return vr in CHARSET_VRS and encodings != DEFAULT_ENCODINGS


def decode_text(vr: str, raw: bytes, encodings: tuple[str, ...]) -> str:
    """Decode a text value; never raises (undecodable bytes become U+FFFD)."""
    if not _uses_charset(vr, encodings):
        return raw.decode("latin-1")
    delimiters = _PN_DELIMITERS if vr == "PN" else _TEXT_DELIMITERS
    try:
        return decode_bytes(raw, list(encodings), delimiters)
    except Exception:  # pydicom raises various errors for bad bytes in strict modes
        return raw.decode("latin-1", errors="replace")


def encode_text(vr: str, text: str, encodings: tuple[str, ...]) -> bytes | None:
    """Encode text back to a padded value; ``None`` if it cannot be encoded."""
    try:
        if _uses_charset(vr, encodings):
            encoded = encode_string(text, list(encodings))
        else:
            encoded = text.encode("latin-1")
    except Exception:  # unencodable characters
        return None
    if len(encoded) % 2:
        encoded += _pad_byte(vr)
    return encoded


def text_attribute(tag: int, vr: str, raw: bytes, encodings: tuple[str, ...]) -> Attribute:
    """A text value as ``val``, plus raw ``data`` when the text is not exact."""
    if not raw:
        return Attribute(tag, vr)
    text = decode_text(vr, raw, encodings).rstrip(" \x00")
    exact = encode_text(vr, text, encodings) == raw
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("\ufffd", text)
        exact = False
    return Attribute(tag, vr, val=text or None, data=None if exact else raw)


def number_attribute(tag: int, vr: str, raw: bytes, little_endian: bool) -> Attribute:
    """An integer, AT or float value as text (+ raw LE bytes for floats)."""
    if not raw:
        return Attribute(tag, vr)
    order = "<" if little_endian else ">"
    if vr == "AT":
        if len(raw) % 4:
            return Attribute(tag, vr, data=raw)
        pairs = struct.unpack(f"{order}{len(raw) // 2}H", raw)
        tags = (f"{pairs[i]:04x}{pairs[i + 1]:04x}" for i in range(0, len(pairs), 2))
        return Attribute(tag, vr, val="\\".join(tags))
    code = INT_FORMATS.get(vr) or FLOAT_FORMATS[vr]
    size = struct.calcsize(code)
    if len(raw) % size:
        return Attribute(tag, vr, data=raw)
    numbers = struct.unpack(f"{order}{len(raw) // size}{code}", raw)
    text = "\\".join(repr(n) if isinstance(n, float) else str(n) for n in numbers)
    if vr in FLOAT_FORMATS:
        return Attribute(tag, vr, val=text, data=raw if little_endian else _swap(raw, size))
    return Attribute(tag, vr, val=text)


def _swap(raw: bytes, size: int) -> bytes:
    """Reverse the byte order of every ``size``-byte word."""
    if size == 1:
        return raw
    out = bytearray(raw)
    for i in range(size):
        out[i::size] = raw[size - 1 - i :: size]
    return bytes(out)


def number_bytes(attribute: Attribute, little_endian: bool) -> bytes:
    """The encoded value of an integer, AT or float attribute."""
    vr = attribute.vr
    if attribute.data is not None:
        if vr in FLOAT_FORMATS and not little_endian:
            size = struct.calcsize(FLOAT_FORMATS[vr])
            if len(attribute.data) % size == 0:
                return _swap(attribute.data, size)
        return attribute.data
    if not attribute.val:
        return b""
    order = "<" if little_endian else ">"
    parts = attribute.val.split("\\")
    if vr == "AT":
        words = [int(p[i : i + 4], 16) for p in parts for i in (0, 4)]
        return struct.pack(f"{order}{len(words)}H", *words)
    if vr in FLOAT_FORMATS:
        return struct.pack(f"{order}{len(parts)}{FLOAT_FORMATS[vr]}", *map(float, parts))
    return struct.pack(f"{order}{len(parts)}{INT_FORMATS[vr]}", *map(int, parts))


def text_bytes(attribute: Attribute, encodings: tuple[str, ...]) -> bytes:
    """The encoded (padded) value of a text attribute."""
    if attribute.data is not None:
        return attribute.data
    if not attribute.val:
        return b""
    encoded = encode_text(attribute.vr, attribute.val, encodings)
    if encoded is None:  # only possible for attributes not produced by this module
        raise ValueError(f"value of {attribute.tag_hex} cannot be encoded in {encodings}")
    return encoded


def is_number_vr(vr: str) -> bool:
    """Whether ``vr`` holds binary numbers written as text (ints, AT, floats)."""
    return vr == "AT" or vr in INT_FORMATS or vr in FLOAT_FORMATS
