"""Parsing binary-item selections: ``all``, ``N``, ``N-M`` and comma lists.

The RI accepted the same grammar in ``binaryitems/{sel}``; a selection is
turned into a sorted list of distinct bids before any item is read, so a
malformed or absurd selection is a 400 and never a partial stream.
"""

from __future__ import annotations

import re

from mintstore.errors import InvalidInput

_RANGE = re.compile(r"([0-9]{1,10})(?:-([0-9]{1,10}))?")
MAX_SELECTED = 1_000_000


def parse_selection(text: str) -> list[int] | None:
    """Bids named by ``text`` in ascending order; ``None`` means every item."""
    if text.endswith(".dat"):
        text = text[: -len(".dat")]
    if text == "all":
        return None
    chosen: set[int] = set()
    for piece in text.split(","):
        match = _RANGE.fullmatch(piece.strip())
        if match is None:
            raise InvalidInput(f"bad binary item selection {text[:80]!r} (use all, N, N-M, N,M)")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
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
    if text.isdigit() and len(text) <= 10:
        return int(text)
    return None
