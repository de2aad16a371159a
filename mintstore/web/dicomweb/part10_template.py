"""An instance's Part-10 file as literal bytes around its binary items, built once per version.

Rebuilding an instance through pydicom costs ~1 ms of Python (0.32 s of CPU
for a 300-slice CT, more than everything else a WADO-RS study retrieval does).
A committed version never changes, so the bytes around the binary items
(preamble, meta group, every attribute but the bulk values) are the same on
every request: they are worked out once by rebuilding the instance with a
stand-in of the right size for each item, and finding each stand-in, verbatim
and exactly once, in the output. Later requests send those literal pieces and
the items themselves, read (and checked) from the store as before; in a known
native syntax the file's length is then known before any item is read, so a
whole study can be sent with a Content-Length.

Only what the rebuild copies verbatim can be templated: an instance whose
output does not contain every stand-in intact (deflated syntax, bit-packed
frames, fragments cut out of a frame, an item too small to hold a marker) has
no template and is rebuilt each time, exactly as before. The one place the
rebuild looks at an item's content, a lone pixel-data frame that starts with a
fragment item tag outside the known native syntaxes, is checked at send time
and falls back to the rebuild too.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable

from mintstore.convert.pixeldata import ITEM_TAG

#: A stand-in starts with this (not an item tag), its bid, a random token and a
#: non-zero byte, then zeros: a needle ending in a zero would make ``find``
#: over the zeros ~20x slower.
_PREFIX = b"MINT"
_TOKEN = 16
_MARKER = len(_PREFIX) + 8 + _TOKEN + 1
_LITERAL, _ITEM = 0, 1
_RECORD = struct.Struct("<BQ")

Segment = bytes | int
"""A literal piece of the file, or the bid of an item whose bytes go there."""


def build(
    rebuild: Callable[[Callable[[int], bytes]], list[bytes]],
    sizes: Callable[[int], int],
    content_free: bool,
) -> bytes:
    """The encoded template of one instance, or b"" if it cannot have one.

    ``rebuild(read_item)`` writes the instance with the given item reader and
    returns its pieces; ``sizes(bid)`` is an item's recorded size.
    ``content_free``: the rebuild never looks at the items' bytes (a known
    native syntax), so the file's length is known before any item is read.
    """
    token = secrets.token_bytes(_TOKEN)
    stand_ins: dict[int, bytes] = {}

    def stand_in(bid: int) -> bytes:
        size = sizes(bid)
        if size < _MARKER:
            raise _NoTemplate
        marker = _PREFIX + struct.pack("<Q", bid) + token + b"\xff"
        stand_ins[bid] = marker + bytes(size - len(marker))
        return stand_ins[bid]

    try:
        pieces = rebuild(stand_in)
    except _NoTemplate:
        return b""
    # Each stand-in is looked for within the pieces the writer produced (no
    # join: that would copy the whole instance once more); one that straddles
    # two pieces is not found, and the instance simply gets no template.
    found: dict[int, tuple[int, int]] = {}  # bid -> (piece index, offset in it)
    for bid, content in stand_ins.items():
        marker = content[:_MARKER]
        hits = [
            (index, offset)
            for index, piece in enumerate(pieces)
            if (offset := piece.find(marker)) >= 0
        ]
        if len(hits) != 1:
            return b""
        index, offset = hits[0]
        piece = pieces[index]
        if piece.find(marker, offset + 1) >= 0:
            return b""
        if not piece.startswith(content, offset):
            return b""
        found[bid] = (index, offset)
    segments: list[Segment] = []
    by_piece: dict[int, list[tuple[int, int]]] = {}
    for bid, (index, offset) in found.items():
        by_piece.setdefault(index, []).append((offset, bid))
    for index, piece in enumerate(pieces):
        position = 0
        for offset, bid in sorted(by_piece.get(index, [])):
            if offset < position:  # pragma: no cover - markers are unique and verbatim
                return b""
            segments.append(piece[position:offset])
            segments.append(bid)
            position = offset + len(stand_ins[bid])
        segments.append(piece[position:] if position else piece)
    return encode(Template(_merged(segments), content_free))


def _merged(segments: list[Segment]) -> list[Segment]:
    """Adjacent literal pieces joined (fewer, larger sends)."""
    merged: list[Segment] = []
    for segment in segments:
        if isinstance(segment, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] = merged[-1] + segment
        else:
            merged.append(segment)
    return merged


class _NoTemplate(Exception):
    """An item too small to carry a marker: this instance is always rebuilt."""


class Template:
    """One instance's literal pieces and bids, in file order."""

    def __init__(self, segments: list[Segment], content_free: bool) -> None:
        self.segments = segments
        #: True when no item's bytes can change what the file looks like.
        self.content_free = content_free

    def bids(self) -> list[int]:
        return [segment for segment in self.segments if isinstance(segment, int)]

    def length(self, sizes: Callable[[int], int]) -> int:
        """The file's size, given each item's recorded size."""
        return sum(
            sizes(segment) if isinstance(segment, int) else len(segment)
            for segment in self.segments
        )

    def fill(self, read_item: Callable[[int], bytes]) -> list[bytes] | None:
        """The file's pieces with each item read; None if the rebuild must be used.

        Unless the template is content-free, an item that starts with a
        fragment item tag is what the rebuild treats differently from its
        stand-in (a lone pixel-data frame kept whole as encapsulated data), so
        its instance is rebuilt instead.
        """
        pieces: list[bytes] = []
        for segment in self.segments:
            if isinstance(segment, int):
                data = read_item(segment)
                if not self.content_free and data[:4] == ITEM_TAG:
                    return None
                pieces.append(data)
            elif segment:
                pieces.append(segment)
        return pieces


def encode(template: Template) -> bytes:
    out = bytearray(b"\x01" if template.content_free else b"\x00")
    for segment in template.segments:
        if isinstance(segment, int):
            out += _RECORD.pack(_ITEM, segment)
        else:
            out += _RECORD.pack(_LITERAL, len(segment))
            out += segment
    return bytes(out)


def decode(data: bytes) -> Template:
    segments: list[Segment] = []
    position = 1
    while position < len(data):
        kind, value = _RECORD.unpack_from(data, position)
        position += _RECORD.size
        if kind == _ITEM:
            segments.append(value)
        else:
            segments.append(data[position : position + value])
            position += value
    return Template(segments, data[:1] == b"\x01")
