"""PS3.4 C.2.2.2 attribute matching, on MINT attributes (pure: no store, no network).

A query key is a DICOM element of the C-FIND identifier; a candidate is a
map of MINT attributes (text values, ``\\``-joined when multi-valued). Kinds
of matching, as the standard lists them:

* universal: an empty key (or ``*``) matches everything, even a missing value;
* single value: equal values (PN case-insensitively, on the alphabetic group
  unless the key has ideographic/phonetic groups);
* list of UIDs: a UI key with several values matches any of them;
* wildcard: ``*`` and ``?`` in AE, CS, LO, LT, PN, SH, ST, UC, UR, UT keys;
* range: ``a-b``, ``a-``, ``-b`` for DA, TM and DT (inclusive; a partial
  upper bound covers the whole period it names);
* sequence: a key SQ with one item matches if any item of the candidate's
  sequence matches every key of that item;
* multiple values: a candidate with several values matches if one does.

:class:`QueryKeyError` is raised for a key that cannot be a valid query
(an unparsable date or range, a wrong item count): the C-FIND then fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mintstore.model import Attribute, Attributes

WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "IS", "DS"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})


class QueryKeyError(ValueError):
    """A query key that no C-FIND identifier may contain."""


@dataclass(frozen=True)
class Key:
    """One query key: the tag, its VR and its value as text (None = empty).

    ``items`` holds the keys of the single item of a sequence key (None if
    the key is not a sequence or has no item).
    """

    tag: int
    vr: str
    text: str | None
    items: tuple[Key, ...] | None = None

    @property
    def universal(self) -> bool:
        if self.vr == "SQ":
            return not self.items
        return (
            self.text is None or self.text == "" or (self.text == "*" and self.vr in WILDCARD_VRS)
        )


def matches_all(keys: Iterable[Key], candidate: Attributes) -> bool:
    """True if the candidate satisfies every key."""
    return all(matches(key, candidate.get(key.tag)) for key in keys)


def matches(key: Key, attribute: Attribute | None) -> bool:
    """One key against one attribute (None: the candidate lacks it)."""
    if key.universal:
        return True
    if attribute is None:
        return False
    if key.vr == "SQ":
        assert key.items is not None
        return any(matches_all(key.items, item.attributes) for item in attribute.items or ())
    values = _values(attribute)
    if not values:
        return False
    assert key.text is not None
    return any(_value_matches(key, value) for value in values)


def _values(attribute: Attribute) -> list[str]:
    if attribute.val is None:
        return []
    return [value.strip() for value in attribute.val.split("\\")]


def _value_matches(key: Key, value: str) -> bool:
    assert key.text is not None
    text = key.text.strip()
    if key.vr in RANGE_VRS:
        return _range_matches(key.vr, text, value)
    alternatives = text.split("\\")
    if key.vr == "UI":
        return value in {uid.strip() for uid in alternatives}
    return any(_single_matches(key.vr, alternative.strip(), value) for alternative in alternatives)


def _single_matches(vr: str, wanted: str, value: str) -> bool:
    if vr == "PN":
        wanted, value = _person_name(wanted, value)
    if vr in WILDCARD_VRS and ("*" in wanted or "?" in wanted):
        return _wildcard(wanted, case_insensitive=vr == "PN").fullmatch(value) is not None
    if vr == "PN":
        return wanted.casefold() == value.casefold()
    if vr in NUMBER_VRS:
        return _number(wanted) == _number(value)
    return wanted == value


def _person_name(wanted: str, value: str) -> tuple[str, str]:
    """Compare the alphabetic group unless the key names the other groups too."""
    if "=" not in wanted:
        value = value.split("=", 1)[0]
    return _trim_pn(wanted), _trim_pn(value)


def _trim_pn(name: str) -> str:
    return "=".join(group.rstrip("^ ") for group in name.split("="))


def _wildcard(pattern: str, *, case_insensitive: bool) -> re.Pattern[str]:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(regex, re.IGNORECASE | re.DOTALL if case_insensitive else re.DOTALL)


def _number(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


# --- dates and times --------------------------------------------------------------------

_DA = re.compile(r"\d{8}")
_TM = re.compile(r"(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?")
_DT = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?")


def check_key(key: Key) -> None:
    """Raise QueryKeyError if a date/time key cannot be read."""
    if key.vr in RANGE_VRS and not key.universal:
        assert key.text is not None
        _bounds(key.vr, key.text.strip())
    for item_key in key.items or ():
        check_key(item_key)


def _range_matches(vr: str, text: str, value: str) -> bool:
    low, high = _bounds(vr, text)
    try:
        start, end = _point(vr, value, upper=False), _point(vr, value, upper=True)
    except QueryKeyError:
        return False  # a stored value we cannot read matches no range
    return (low is None or end >= low) and (high is None or start <= high)


def _bounds(vr: str, text: str) -> tuple[str | None, str | None]:
    """The inclusive (low, high) of a single value or a range, as sortable strings."""
    if vr == "DT" and _DT.fullmatch(text):  # a single DT (its -ZZXX offset is no range)
        return _point(vr, text, upper=False), _point(vr, text, upper=True)
    if "-" not in text:
        return _point(vr, text, upper=False), _point(vr, text, upper=True)
    for split in (index for index, char in enumerate(text) if char == "-"):
        low_text, high_text = text[:split].strip(), text[split + 1 :].strip()
        if not low_text and not high_text:
            continue
        try:
            low = _point(vr, low_text, upper=False) if low_text else None
            high = _point(vr, high_text, upper=True) if high_text else None
        except QueryKeyError:
            continue
        return low, high
    raise QueryKeyError(f"not a {vr} value or range: {text!r}")


_TM_LOW = ("00", "00", "00", "000000")
_TM_HIGH = ("23", "59", "59", "999999")
_DT_LOW = ("0000", "01", "01", "00", "00", "00", "000000")
_DT_HIGH = ("9999", "12", "31", "23", "59", "59", "999999")


def _point(vr: str, text: str, *, upper: bool) -> str:
    """A date/time as a fixed-width string; partial values extended to the
    start (lower bound) or the end (upper bound) of the period they name."""
    text = text.strip()
    if vr == "DA":
        cleaned = text.replace(".", "")  # ACR-NEMA style yyyy.mm.dd
        if not _DA.fullmatch(cleaned):
            raise QueryKeyError(f"not a date: {text!r}")
        return cleaned
    if vr == "TM":
        match = _TM.fullmatch(text)
        if match is None:
            raise QueryKeyError(f"not a time: {text!r}")
        return _fill(match.groups(), _TM_HIGH if upper else _TM_LOW, upper)
    match = _DT.fullmatch(text)
    if match is None:
        raise QueryKeyError(f"not a date-time: {text!r}")
    return _fill(match.groups()[:7], _DT_HIGH if upper else _DT_LOW, upper)


def _fill(parts: tuple[str | None, ...], defaults: tuple[str, ...], upper: bool) -> str:
    """Missing components from ``defaults``; a short fraction padded with 0 (or 9)."""
    filled = []
    for part, default in zip(parts, defaults, strict=True):
        if part is None:
            filled.append(default)
        else:
            filled.append(part.ljust(len(default), "9" if upper else "0"))
    return "".join(filled)
