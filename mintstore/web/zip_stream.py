"""A streamed ZIP archive of stored (uncompressed) members, written as it goes.

Why not :mod:`zipfile`: for a 2,000-member download its per-member machinery
(ZipInfo, a locked writer object, zip64 bookkeeping) cost about a fifth of
the whole response. Here each member is one local header, its bytes, and a
data descriptor (CRC-32 and sizes known only after the data, so nothing is
buffered or seeked); the central directory follows the last member. Every
member uses the ZIP64 extensions (APPNOTE 4.3.9, 4.5.3), so sizes and
offsets past 4 GiB need no special case; names are UTF-8 (flag bit 11).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_LOCAL = 0x04034B50
_DESCRIPTOR = 0x08074B50
_CENTRAL = 0x02014B50
_ZIP64_END = 0x06064B50
_ZIP64_LOCATOR = 0x07064B50
_END = 0x06054B50
_VERSION = 45  # ZIP64
_FLAGS = 0x0008 | 0x0800  # data descriptor, UTF-8 names
_DOS_TIME, _DOS_DATE = 0, (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01 00:00
_ALL_ONES_32 = 0xFFFFFFFF


@dataclass
class _Member:
    name: bytes
    offset: int
    crc: int = 0
    size: int = 0


class ZipStream:
    """Members in, archive bytes out: ``begin`` / ``write`` / ``end`` per member,
    then ``finish``; ``take`` hands out what was produced so far."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._offset = 0
        self._members: list[_Member] = []
        self._current: _Member | None = None

    def _emit(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        self._offset += len(data)

    @property
    def pending(self) -> int:
        """Bytes produced and not yet taken (a caller may gather small members)."""
        return self._pending_size

    def begin(self, name: str) -> None:
        """Start a member (its local header, sizes to follow in the descriptor)."""
        if self._current is not None:
            raise RuntimeError("the previous member was not ended")
        encoded = name.encode("utf-8")
        member = _Member(encoded, self._offset)
        extra = struct.pack("<HHQQ", 0x0001, 16, 0, 0)
        header = struct.pack(
            "<IHHHHHIIIHH",
            _LOCAL, _VERSION, _FLAGS, 0, _DOS_TIME, _DOS_DATE,
            0, _ALL_ONES_32, _ALL_ONES_32, len(encoded), len(extra),
        )  # fmt: skip
        self._emit(header + encoded + extra)
        self._current = member

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Member content (a file-like ``write`` for whoever produces the member)."""
        member = self._current
        if member is None:
            raise RuntimeError("no member was begun")
        chunk = bytes(data)
        member.crc = zlib.crc32(chunk, member.crc)
        member.size += len(chunk)
        self._emit(chunk)
        return len(chunk)

    def end(self) -> None:
        """End the member: its data descriptor (ZIP64: 8-byte sizes)."""
        member = self._current
        if member is None:
            raise RuntimeError("no member was begun")
        self._emit(struct.pack("<IIQQ", _DESCRIPTOR, member.crc, member.size, member.size))
        self._members.append(member)
        self._current = None

    def finish(self) -> None:
        """The central directory and the (ZIP64) end records."""
        if self._current is not None:
            raise RuntimeError("the last member was not ended")
        start = self._offset
        for member in self._members:
            extra = struct.pack("<HHQQQ", 0x0001, 24, member.size, member.size, member.offset)
            header = struct.pack(
                "<IHHHHHHIIIHHHHHII",
                _CENTRAL, _VERSION, _VERSION, _FLAGS, 0, _DOS_TIME, _DOS_DATE,
                member.crc, _ALL_ONES_32, _ALL_ONES_32, len(member.name), len(extra),
                0, 0, 0, 0, _ALL_ONES_32,
            )  # fmt: skip
            self._emit(header + member.name + extra)
        size = self._offset - start
        zip64_end = self._offset
        count = len(self._members)
        self._emit(
            struct.pack(
                "<IQHHIIQQQQ", _ZIP64_END, 44, _VERSION, _VERSION, 0, 0, count, count, size, start
            )
        )
        self._emit(struct.pack("<IIQI", _ZIP64_LOCATOR, 0, zip64_end, 1))
        end = struct.pack(
            "<IHHHHIIH", _END, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
            min(size, _ALL_ONES_32), min(start, _ALL_ONES_32), 0,
        )  # fmt: skip
        self._emit(end)

    def take(self) -> bytes:
        """Everything produced since the last ``take``."""
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return data
