"""A value that stays in its file: ``length`` bytes from ``offset`` of an open descriptor.

Why: a 300 MiB PixelData read into one ``bytes`` made a 300 MiB upload cost
300 MiB of server memory. The Part-10 reader leaves values past a threshold
in the (spooled or source) file and hands this instead; the blob store hashes
and writes it in chunks read with ``pread``, so memory per value is one chunk
whatever its size. ``pread`` keeps concurrent readers of one descriptor from
moving each other's file position.

The descriptor belongs to whoever opened the file: a range is usable only
while that file is open (the ingest session writes a range's blob before the
caller may close the file).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class FileRange:
    """``length`` bytes at ``offset`` of the open file descriptor ``fd``."""

    fd: int
    offset: int
    length: int

    def __len__(self) -> int:
        return self.length

    def __bytes__(self) -> bytes:
        return self.read_at(0, self.length)

    def read_at(self, start: int, size: int) -> bytes:
        """``size`` bytes from ``start`` (relative to the range), fewer at its end."""
        size = max(0, min(size, self.length - start))
        parts = []
        while size > 0:
            chunk = os.pread(self.fd, size, self.offset + start)
            if not chunk:
                raise OSError(f"file ends inside a value (byte {self.offset + start})")
            parts.append(chunk)
            start += len(chunk)
            size -= len(chunk)
        return b"".join(parts) if len(parts) != 1 else parts[0]

    def sub(self, start: int, length: int) -> FileRange:
        """The part ``[start, start + length)`` of this range."""
        if start < 0 or length < 0 or start + length > self.length:
            raise ValueError("a sub-range must lie inside its range")
        return FileRange(self.fd, self.offset + start, length)

    def chunks(self, size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The range's bytes, ``size`` at a time."""
        for start in range(0, self.length, size):
            yield self.read_at(start, size)

    def sha256(self) -> str:
        hasher = hashlib.sha256()
        for chunk in self.chunks():
            hasher.update(chunk)
        return hasher.hexdigest()

    def open(self) -> RangeReader:
        """A seekable binary stream over the range."""
        return RangeReader(self)


class RangeReader(io.RawIOBase):
    """Reads one :class:`FileRange` from its start (closing it leaves the file open)."""

    def __init__(self, source: FileRange) -> None:
        super().__init__()
        self._source = source
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._source.read_at(self._position, len(target))
        target[: len(data)] = data
        self._position += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._source.length - self._position
        data = self._source.read_at(self._position, size)
        self._position += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._source.length}
        self._position = max(0, base[whence] + offset)
        return self._position

    def tell(self) -> int:
        return self._position


def content_sha256(content: bytes | memoryview | FileRange) -> str:
    """The SHA-256 of an item's content, wherever it lives."""
    if isinstance(content, FileRange):
        return content.sha256()
    return hashlib.sha256(content).hexdigest()


#: What a converted binary item's content may be: in memory or left in its file.
ItemContent = bytes | memoryview | FileRange
