"""Parsing binary-item selections: ``all``, ``N``, ``N-M`` and comma lists.

The RI accepted the same grammar in ``binaryitems/{sel}``; a selection is
turned into a sorted list of distinct bids before any item is read, so a
malformed or absurd selection is a 400 and never a partial stream.
"""

from __future__ import annotations

import re

from mintstore.errors import InvalidInput

from .params import parse_int

_RANGE = re.compile(r"([0-9]{1,10})(?:-([0-9]{1,10}))?")
_ONE = re.compile(r"[0-9]{1,10}")
MAX_SELECTED = 1_000_000
#: Bids are 32-bit unsigned integers in every wire format.
MAX_BID = 0xFFFFFFFF
#: Longest selection text looked at (a comma list of this many ranges is plenty).
MAX_SELECTION_LENGTH = 8192


def parse_selection(text: str) -> list[int] | None:
    """Bids named by ``text`` in ascending order; ``None`` means every item."""
    if text.endswith(".dat"):
        text = text[: -len(".dat")]
    if text == "all":
        return None
    if len(text) > MAX_SELECTION_LENGTH:
        raise InvalidInput(f"binary item selection longer than {MAX_SELECTION_LENGTH} characters")
    chosen: set[int] = set()
    for piece in text.split(","):
        match = _RANGE.fullmatch(piece.strip())
        if match is None:
            raise InvalidInput(f"bad binary item selection {text[:80]!r} (use all, N, N-M, N,M)")
        first = parse_int(match.group(1), "binary item id", maximum=MAX_BID)
        last = first
        if match.group(2) is not None:
            last = parse_int(match.group(2), "binary item id", maximum=MAX_BID)
        if last < first:
            raise InvalidInput(f"bad binary item range {piece!r}: end before start")
        if len(chosen) + (last - first + 1) > MAX_SELECTED:
            raise InvalidInput(f"binary item selection names more than {MAX_SELECTED} items")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def single_bid(text: str) -> int | None:
    """The bid if ``text`` names exactly one item (``7`` or ``7.dat``), else None."""
    if text.endswith(".dat"):
        text = text[: -len(".dat")]
    if _ONE.fullmatch(text):
        return parse_int(text, "binary item id", maximum=MAX_BID)
    return None
