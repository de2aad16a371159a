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

import struct
import zlib

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


def _fail(message: str, position: int) -> InvalidDicom:
    return InvalidDicom(f"malformed DICOM structure at byte {position}: {message}")


class _Walker:
    def __init__(self, data: bytes | memoryview, little: bool) -> None:
        self.data = data
        self.order = "<" if little else ">"

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
        """Walk elements from ``position``; returns the position after the data set."""
        if depth > _MAX_DEPTH:
            raise _fail("sequences nested too deeply", position)
        if position + 8 <= end:
            first_tag, _ = self.tag_and_length(position)
            if first_tag >> 16 != 0xFFFE:
                implicit = not self.looks_explicit(position)
        while position < end:
            tag, length = self.tag_and_length(position)
            if tag in (ITEM_DELIMITER, SEQUENCE_DELIMITER):
                if tag != closed_by:
                    raise _fail(f"unexpected delimiter {tag:08X}", position)
                return position + 8
            vr = b""
            if implicit:
                header = 8
            else:
                vr = bytes(self.data[position + 4 : position + 6])
                if vr in _LONG_VRS:
                    if position + 12 > end:
                        raise _fail("data ends inside an element header", position)
                    (length,) = struct.unpack_from(f"{self.order}I", self.data, position + 8)
                    header = 12
                else:
                    (length,) = struct.unpack_from(f"{self.order}H", self.data, position + 6)
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
            position += 8
            if length == UNDEFINED:
                position = self.dataset(position, end, implicit, ITEM_DELIMITER, depth + 1)
            elif position + length > end:
                raise _fail("an item is cut short", position)
            else:
                position += length


def _meta_end(data: bytes) -> int:
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


def check_structure(data: bytes, *, implicit: bool, little: bool, deflated: bool) -> None:
    """Raise InvalidDicom unless ``data`` (a whole Part-10 file) is structurally complete."""
    start = _meta_end(data)
    body: bytes | memoryview = memoryview(data)[start:]
    if deflated:
        try:
            body = zlib.decompress(bytes(body), -zlib.MAX_WBITS)
        except zlib.error as exc:
            raise InvalidDicom(f"deflated data set cannot be inflated: {exc}") from exc
    walker = _Walker(body, little)
    end = len(body)
    # A lone padding byte after the data set (odd-length deflate output) is harmless.
    if deflated and end % 2 == 1:
        end -= 1
    walker.dataset(0, end, implicit, None, 0)
