"""A structural check of a Part-10 byte stream: nothing cut short, nothing left open.

pydicom silently accepts a file that ends inside a sequence, an item or
encapsulated pixel data (it reads to the end of the file as if a delimiter had
been there). For ingest that would mean storing a truncated instance as if it
were whole, so before conversion the element structure is walked here:
every defined length must fit, every undefined-length value must be closed by
its delimiter, and the walk must end exactly at the end of the data. Values
are skipped, not decoded, so this costs little even for large files.

Like pydicom, a data set whose first element does not match the announced VR
encoding (explicit/implicit) is read in the encoding it actually uses.
"""

from __future__ import annotations

import mmap
import struct
import time
import zlib
from dataclasses import dataclass

from mintstore.errors import InvalidDicom

ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_ALL_VRS = _LONG_VRS | frozenset(
    {
        b"AE",
        b"AS",
        b"AT",
        b"CS",
        b"DA",
        b"DS",
        b"DT",
        b"FL",
        b"FD",
        b"IS",
        b"LO",
        b"LT",
        b"PN",
        b"SH",
        b"SL",
        b"SS",
        b"ST",
        b"TM",
        b"UI",
        b"UL",
        b"US",
    }
)
_MAX_DEPTH = 64
#: Whole files are walked as bytes, or as a read-only map of an upload spool (or of
#: one part of it).
FileBytes = bytes | mmap.mmap | memoryview
_CLOCK_EVERY = 4096  # elements between two looks at the clock


@dataclass(frozen=True)
class Part10Limits:
    """What one Part-10 instance may cost to read (hostile input is refused, 400).

    The cost of reading a data set grows with its number of elements, not its
    size: 64 MiB of zeros is eight million empty elements, and pydicom took
    29 s over the 65 KB deflated file that inflates to it. So elements are
    counted (and the clock watched) in the structural walk, which runs before
    pydicom parses anything, and inflating is bounded in size and ratio.
    These are configuration options (``[limits]`` section, ``part10.*``).

    * ``max_elements``: elements (sequence items included) in one Part-10
      instance; real files stay far below (an enhanced multi-frame with 3,000
      frames has about 100,000)
    * ``max_inflated_bytes``: largest inflated data set of a Deflated Explicit
      VR Little Endian instance, bytes
    * ``max_inflate_ratio``: largest inflated / deflated size past
      ratio_floor (zlib reaches 1032:1 on zeros; real images deflate 2-20:1)
    * ``ratio_floor``: inflated size accepted whatever the ratio, bytes
    * ``max_walk_seconds``: wall-clock budget for the structural walk of one
      instance, seconds
    """

    max_elements: int = 250_000
    max_inflated_bytes: int = 512 * 1024**2
    max_inflate_ratio: int = 200
    ratio_floor: int = 16 * 1024**2
    max_walk_seconds: float = 10.0


DEFAULT_LIMITS = Part10Limits()


def _fail(message: str, position: int) -> InvalidDicom:
    return InvalidDicom(f"malformed DICOM structure at byte {position}: {message}")


class _Walker:
    def __init__(self, data: bytes | memoryview, little: bool, limits: Part10Limits) -> None:
        self.data = data
        self.order = "<" if little else ">"
        self.formats = (
            struct.Struct(f"{self.order}HHI"),
            struct.Struct(f"{self.order}I"),
            struct.Struct(f"{self.order}H"),
        )
        self.limits = limits
        self.elements = 0
        self.deadline = time.monotonic() + limits.max_walk_seconds

    def count(self, position: int) -> None:
        """One more element: refuse the file beyond the element or time budget."""
        self.elements += 1
        self.count_slowly(position)

    def count_slowly(self, position: int) -> None:
        """The budget checks of :meth:`count`, for an element already counted."""
        if self.elements > self.limits.max_elements:
            raise _fail(f"more than {self.limits.max_elements} elements", position)
        if self.elements % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise _fail(f"reading took more than {self.limits.max_walk_seconds} s", position)

    def tag_and_length(self, position: int) -> tuple[int, int]:
        if position + 8 > len(self.data):
            raise _fail("data ends inside an element header", position)
        group, element, length = struct.unpack_from(f"{self.order}HHI", self.data, position)
        return group << 16 | element, length

    def looks_explicit(self, position: int) -> bool:
        return bytes(self.data[position + 4 : position + 6]) in _ALL_VRS

    def dataset(
        self, position: int, end: int, implicit: bool, closed_by: int | None, depth: int
    ) -> int:
        """Walk elements from ``position``; returns the position after the data set.

        The loop runs once per element of every instance ingested, so it keeps
        its state in locals and unpacks with precompiled formats (a method call
        per element cost as much as the rest of the walk).
        """
        if depth > _MAX_DEPTH:
            raise _fail("sequences nested too deeply", position)
        if position + 8 <= end:
            first_tag, _ = self.tag_and_length(position)
            if first_tag >> 16 != 0xFFFE:
                implicit = not self.looks_explicit(position)
        data, size = self.data, len(self.data)
        header_format, long_length, short_length = self.formats
        max_elements = self.limits.max_elements
        while position < end:
            if position + 8 > size:
                raise _fail("data ends inside an element header", position)
            group, element, length = header_format.unpack_from(data, position)
            tag = group << 16 | element
            self.elements += 1
            if self.elements > max_elements or self.elements % _CLOCK_EVERY == 0:
                self.count_slowly(position)
            if tag in (ITEM_DELIMITER, SEQUENCE_DELIMITER):
                if tag != closed_by:
                    raise _fail(f"unexpected delimiter {tag:08X}", position)
                return position + 8
            vr = b""
            if implicit:
                header = 8
            else:
                vr = bytes(data[position + 4 : position + 6])
                if vr in _LONG_VRS:
                    if position + 12 > end:
                        raise _fail("data ends inside an element header", position)
                    (length,) = long_length.unpack_from(data, position + 8)
                    header = 12
                else:
                    (length,) = short_length.unpack_from(data, position + 6)
                    header = 8
            position += header
            if length == UNDEFINED:
                position = self.items(position, end, implicit or vr == b"UN", depth)
            else:
                if position + length > end:
                    raise _fail(
                        f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) is cut short", position
                    )
                position += length
        if closed_by is not None:
            raise _fail("data ends before a sequence or item delimiter", position)
        return position

    def items(self, position: int, end: int, implicit: bool, depth: int) -> int:
        """Walk an undefined-length value: items up to the sequence delimiter."""
        while True:
            tag, length = self.tag_and_length(position)
            if tag == SEQUENCE_DELIMITER:
                return position + 8
            if tag != ITEM:
                raise _fail(f"expected an item, found {tag:08X}", position)
            self.count(position)
            position += 8
            if length == UNDEFINED:
                position = self.dataset(position, end, implicit, ITEM_DELIMITER, depth + 1)
            elif position + length > end:
                raise _fail("an item is cut short", position)
            else:
                position += length


def announced_syntax(data: FileBytes) -> str | None:
    """The Transfer Syntax UID (0002,0010) of the file meta information, if there is one."""
    position = 132 if data[128:132] == b"DICM" else 0
    while position + 8 <= len(data) and data[position : position + 2] == b"\x02\x00":
        element = data[position + 2 : position + 4]
        vr = data[position + 4 : position + 6]
        if vr in _LONG_VRS:
            if position + 12 > len(data):
                return None
            (length,) = struct.unpack_from("<I", data, position + 8)
            header = 12
        else:
            (length,) = struct.unpack_from("<H", data, position + 6)
            header = 8
        if element == b"\x10\x00":
            value = bytes(data[position + header : position + header + length])
            return value.decode("latin-1").strip("\x00 ")
        position += header + length
    return None


def _meta_end(data: FileBytes) -> int:
    """Where the data set starts: after the preamble and the group 0002 elements."""
    position = 132 if data[128:132] == b"DICM" else 0
    while position + 8 <= len(data) and data[position : position + 2] == b"\x02\x00":
        vr = data[position + 4 : position + 6]
        if vr in _LONG_VRS:
            if position + 12 > len(data):
                break
            (length,) = struct.unpack_from("<I", data, position + 8)
            position += 12 + length
        else:
            (length,) = struct.unpack_from("<H", data, position + 6)
            position += 8 + length
    if position > len(data):
        raise _fail("file meta information is cut short", len(data))
    return position


def inflate(deflated: bytes | memoryview, limits: Part10Limits = DEFAULT_LIMITS) -> bytes:
    """Inflate a deflated data set, never past the size and ratio limits."""
    ceiling = min(
        limits.max_inflated_bytes,
        max(limits.ratio_floor, len(deflated) * limits.max_inflate_ratio),
    )
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(deflated, ceiling + 1)
    except zlib.error as exc:
        raise InvalidDicom(f"deflated data set cannot be inflated: {exc}") from exc
    if len(out) > ceiling:
        raise InvalidDicom(
            f"deflated data set inflates beyond {ceiling} bytes "
            f"(limit: {limits.max_inflated_bytes} bytes, or {limits.max_inflate_ratio}x "
            f"its {len(deflated)} bytes past {limits.ratio_floor})"
        )
    return out


def check_structure(
    data: FileBytes,
    *,
    implicit: bool,
    little: bool,
    deflated: bool,
    limits: Part10Limits = DEFAULT_LIMITS,
) -> None:
    """Raise InvalidDicom unless ``data`` (a whole Part-10 file) is structurally complete.

    Also refuses a file whose reading would cost more than ``limits`` allow.
    """
    start = _meta_end(data)
    body: bytes | memoryview = memoryview(data)[start:]
    if deflated:
        body = inflate(body, limits)
    walker = _Walker(body, little, limits)
    end = len(body)
    # A lone padding byte after the data set (odd-length deflate output) is harmless.
    if deflated and end % 2 == 1:
        end -= 1
    walker.dataset(0, end, implicit, None, 0)
