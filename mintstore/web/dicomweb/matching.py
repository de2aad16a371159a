"""Attribute matching of PS3.4 C.2.2.2 as QIDO-RS uses it (PS3.18 8.3.4).

Pure functions over the text a MINT attribute holds (``val``, values joined
with a backslash): single value, UID list, ``*``/``?`` wildcards on string
VRs, date/time/datetime ranges (``a-``, ``-b``, ``a-b``), person names
matched per group and case-insensitively, and ``fuzzymatching``
(a name component that starts with the query's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: VRs on which ``*`` and ``?`` are wildcards (PS3.4 C.2.2.2.4).
WILDCARD_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
RANGE_VRS = frozenset({"DA", "TM", "DT"})
NUMBER_VRS = frozenset({"IS", "DS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"})


@dataclass(frozen=True)
class Condition:
    """One matching key: the attribute's tag and VR and the query's value."""

    tag: int
    vr: str
    value: str
    fuzzy: bool = False

    @property
    def universal(self) -> bool:
        """An empty value, or ``*`` alone (PS3.4 C.2.2.2.4), matches everything."""
        return self.value == "" or (self.value == "*" and self.vr in WILDCARD_VRS)

    def matches(self, stored: str | None) -> bool:
        """Does an attribute whose text is ``stored`` (None: absent/empty) match?"""
        if self.universal:
            return True
        values = [] if not stored else stored.split("\\")
        if not values:
            return False
        return any(_match_one(self, value.strip()) for value in values)


def _match_one(condition: Condition, stored: str) -> bool:
    query, vr = condition.value, condition.vr
    if vr == "UI":
        return stored in {uid.strip() for uid in re.split(r"[,\\]", query)}
    if vr in RANGE_VRS and "-" in query:
        return _in_range(vr, query, stored)
    if vr in RANGE_VRS:
        return _normal_time(vr, stored).startswith(_normal_time(vr, query))
    if vr == "PN":
        return _person_name(query, stored, condition.fuzzy)
    if vr in NUMBER_VRS:
        return _number_equal(query, stored)
    if vr in WILDCARD_VRS and ("*" in query or "?" in query):
        return _wildcard(query, case_insensitive=False).fullmatch(stored) is not None
    if vr in WILDCARD_VRS and "\\" in query:
        return stored in query.split("\\")
    return stored == query


def _normal_time(vr: str, text: str) -> str:
    """DA/TM/DT text without separators, so string order is time order."""
    text = text.strip()
    if vr == "TM":
        return text.replace(":", "")
    if vr == "DA":
        return text.replace(".", "")
    return text


def _in_range(vr: str, query: str, stored: str) -> bool:
    low, _, high = query.partition("-")
    if vr == "DT":
        # DT may carry a time zone "+0100" / "-0500": split on the first
        # dash that is not part of an offset (the range separator).
        low, high = _split_datetime_range(query)
    value = _normal_time(vr, stored)
    low, high = _normal_time(vr, low), _normal_time(vr, high)
    if low and value < low:
        return False
    return not high or value[: len(high)] <= high


def _split_datetime_range(query: str) -> tuple[str, str]:
    if query.startswith("-"):
        return "", query[1:]
    match = re.match(r"([0-9.]+(?:[+-][0-9]{4})?)-(.*)\Z", query)
    if match is None:
        return query, query
    return match.group(1), match.group(2)


def _number_equal(query: str, stored: str) -> bool:
    try:
        return float(query) == float(stored)
    except ValueError:
        return query.strip() == stored


@lru_cache(maxsize=256)
def _wildcard(query: str, *, case_insensitive: bool) -> re.Pattern[str]:
    pattern = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in query
    )
    return re.compile(pattern, re.IGNORECASE | re.DOTALL if case_insensitive else re.DOTALL)


def _person_name(query: str, stored: str, fuzzy: bool) -> bool:
    """Per group (alphabetic, ideographic, phonetic), case-insensitive."""
    groups = [group for group in stored.split("=") if group]
    if not groups:
        return False
    wanted = query.split("=")[0] or query
    pattern = _wildcard(wanted, case_insensitive=True)
    for group in groups:
        if pattern.fullmatch(group) is not None:
            return True
        # "DOE^JOHN" stored, "DOE^JOHN^^" empty trailing components: compare trimmed.
        if pattern.fullmatch(group.rstrip("^")) is not None:
            return True
        if fuzzy and _fuzzy(wanted, group):
            return True
    return False


def _fuzzy(query: str, group: str) -> bool:
    """Fuzzy person-name matching: any component starts with each query word."""
    words = [w for w in re.split(r"[\^ ]", query.replace("*", "").lower()) if w]
    components = [c for c in re.split(r"[\^ ]", group.lower()) if c]
    return bool(words) and all(any(c.startswith(w) for c in components) for w in words)
