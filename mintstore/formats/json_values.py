"""Attribute values in the DICOM JSON model (PS3.18 Annex F), losslessly.

MINT keeps every value as the exact DICOM text, and JSON -> model -> JSON
must be an identity, so the Annex F mapping is applied only where it loses
nothing:

* Numeric VRs (IS, DS, US, SS, UL, SL, UV, SV, FL, FD): each value is written
  as a JSON *number* whose literal is the DICOM text itself (``"320.00"``
  becomes ``320.00``, not ``320.0``); the reader keeps the literal text.
  A value that is not a valid JSON number literal (``"+0.0"``, padded,
  ``"NaN"``) is written as a JSON *string* instead.
* PN: ``{"Alphabetic": ..., "Ideographic": ..., "Phonetic": ...}`` with a key
  for each ``=``-separated group present (empty groups kept as ``""``); a
  name with more than three groups stays a plain string.
* LT, ST, UT, UR are single-valued: their text is one value, backslashes and
  all. Every other VR splits on backslash; an empty value is ``null``.
"""

from __future__ import annotations

import json
import re

from mintstore.errors import InvalidMetadata

NUMERIC_VRS = frozenset({"IS", "DS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"})
SINGLE_VALUED_VRS = frozenset({"LT", "ST", "UT", "UR"})
PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")

_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")


class JsonNumber(str):
    """The literal text of a JSON number, as the reader received it."""


def value_array(vr: str, val: str) -> str:
    """The ``Value`` array for text ``val`` of VR ``vr``, as JSON text."""
    components = [val] if vr in SINGLE_VALUED_VRS else val.split("\\")
    return "[" + ",".join(_component(vr, text) for text in components) + "]"


def _component(vr: str, text: str) -> str:
    if text == "":
        return "null"
    if vr in NUMERIC_VRS:
        return text if _JSON_NUMBER.match(text) else json.dumps(text, ensure_ascii=False)
    if vr == "PN":
        groups = text.split("=")
        if len(groups) <= len(PN_GROUPS):
            return json.dumps(
                dict(zip(PN_GROUPS, groups, strict=False)),
                ensure_ascii=False,
                separators=(",", ":"),
            )
    return json.dumps(text, ensure_ascii=False)


def val_from_array(vr: str, values: object, at: str) -> str | None:
    """Inverse of :func:`value_array` over the parsed JSON ``Value``."""
    if not isinstance(values, list):
        raise InvalidMetadata(f"{at}: Value must be an array")
    if not values:
        return None
    texts = [_text(vr, value, at) for value in values]
    if vr in SINGLE_VALUED_VRS and len(texts) != 1:
        raise InvalidMetadata(f"{at}: VR {vr} takes exactly one value")
    return "\\".join(texts) or None


def _text(vr: str, value: object, at: str) -> str:
    if value is None:
        return ""
    if isinstance(value, JsonNumber):
        if vr not in NUMERIC_VRS:
            raise InvalidMetadata(f"{at}: a number is not a value of VR {vr}")
        return str(value)
    if isinstance(value, str):
        return value
    if vr == "PN" and isinstance(value, dict):
        return _person_name(value, at)
    raise InvalidMetadata(f"{at}: unexpected value {type(value).__name__} for VR {vr}")


def _person_name(groups: dict[str, object], at: str) -> str:
    unknown = set(groups) - set(PN_GROUPS)
    if unknown:
        raise InvalidMetadata(f"{at}: unknown person name groups {sorted(unknown)}")
    present = [index for index, name in enumerate(PN_GROUPS) if name in groups]
    parts: list[str] = []
    for name in PN_GROUPS[: max(present) + 1] if present else ():
        part = groups.get(name, "")
        if not isinstance(part, str):
            raise InvalidMetadata(f"{at}: person name group {name} must be a string")
        parts.append(part)
    return "=".join(parts)
