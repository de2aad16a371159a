"""Where one request's uploaded parts wait: a little memory, then one file on disk.

Each part used to get its own ``SpooledTemporaryFile`` holding up to 1 MiB in
memory, so 300 parts of just under 1 MB added 297 MiB to the server, and parts
past the threshold each held a file descriptor until the commit. A
:class:`RequestSpool` gives a request a fixed memory allowance (parts stay in
memory only while the request's total is under it) and puts everything
beyond into *one* temporary file, as consecutive segments: memory per request
is bounded by configuration whatever the part sizes, and the request holds one
descriptor however many parts it has.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from typing import IO, cast

from mintstore.errors import InvalidInput


@dataclass(frozen=True)
class SpoolLimits:
    """Memory and part-count bounds of one upload.

    These are configuration options (``[limits]`` section, ``spool.*``).

    * ``memory_per_request``: bytes of one request's parts kept in memory;
      beyond it, parts go to one spool file on disk
    * ``memory_per_part``: largest part kept in memory, bytes (a bigger one
      goes to disk at once)
    * ``max_parts``: parts in one multipart body (400 beyond); a
      20,000-instance MINT upload sends one metadata part and about one
      binary part per instance
    """

    memory_per_request: int = 4 * 1024**2
    memory_per_part: int = 1024 * 1024
    max_parts: int = 200_000


DEFAULT_SPOOL_LIMITS = SpoolLimits()


class RequestSpool:
    """Hands out part bodies: memory while the allowance lasts, then file segments."""

    def __init__(self, directory: str | None, limits: SpoolLimits = DEFAULT_SPOOL_LIMITS) -> None:
        self._directory = directory
        self._limits = limits
        self._in_memory = 0
        self._file: IO[bytes] | None = None
        self._end = 0
        self._open_segment: _Segment | None = None
        self.parts = 0

    def new_body(self) -> IO[bytes]:
        """A writable, then readable, body for the next part (parts are written one by one)."""
        self.parts += 1
        if self.parts > self._limits.max_parts:
            raise InvalidInput(f"more than {self._limits.max_parts} parts in one upload")
        self._seal()
        room = self._limits.memory_per_request - self._in_memory
        if room >= self._limits.memory_per_part:
            return cast(IO[bytes], _MemoryBody(self, self._limits.memory_per_part))
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - closed by close()
        segment = _Segment(self._file.fileno(), self._end)
        self._open_segment = segment
        return cast(IO[bytes], segment)

    def _seal(self) -> None:
        if self._open_segment is not None:
            self._end = self._open_segment.start + self._open_segment.size
            self._open_segment.sealed = True
            self._open_segment = None

    def _charge(self, size: int) -> None:
        self._in_memory += size

    def _overflow(self, body: _MemoryBody) -> _Segment:
        """A memory body outgrew its share: move it to the file, as the current segment."""
        self._in_memory -= body.tell()
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - closed by close()
        segment = _Segment(self._file.fileno(), self._end)
        segment.write(body.getvalue())
        self._open_segment = segment
        return segment

    def close(self) -> None:
        """Release the spool file (every segment with it)."""
        if self._file is not None:
            self._file.close()
            self._file = None


class _MemoryBody(io.RawIOBase):
    """A part in memory up to ``limit`` bytes; past it, it continues in the spool file."""

    def __init__(self, spool: RequestSpool, limit: int) -> None:
        super().__init__()
        self._spool = spool
        self._limit = limit
        self._buffer = io.BytesIO()
        self._segment: _Segment | None = None

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self._segment is not None:
            return self._segment.write(data)
        if self._buffer.tell() + len(data) > self._limit:
            self._segment = self._spool._overflow(self)
            self._buffer = io.BytesIO()
            return self._segment.write(data)
        self._spool._charge(len(data))
        return self._buffer.write(data)

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()

    def fileno(self) -> int:
        """The spool file's, once this part continues there (see ``_Segment.fileno``)."""
        if self._segment is None:
            raise io.UnsupportedOperation("a part in memory has no file")
        return self._segment.fileno()

    @property
    def file_offset(self) -> int:
        return self._segment.start if self._segment is not None else 0

    def __len__(self) -> int:
        return self._segment.size if self._segment is not None else len(self._buffer.getbuffer())

    def read(self, size: int = -1) -> bytes:
        if self._segment is not None:
            return self._segment.read(size)
        if self._buffer.tell() == 0 and (size is None or size < 0):
            # The whole part, as the converter reads it: getvalue() hands over
            # the buffer's bytes without copying them (read() would copy).
            data = self._buffer.getvalue()
            self._buffer.seek(len(data))
            return data
        return self._buffer.read(size)

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._segment is not None:
            return self._segment.seek(offset, whence)
        return self._buffer.seek(offset, whence)

    def tell(self) -> int:
        if self._segment is not None:
            return self._segment.tell()
        return self._buffer.tell()

    def close(self) -> None:
        if self._segment is None and not self.closed:
            # getvalue(), not getbuffer(): a buffer read() handed over is shared,
            # and exporting it would copy it.
            self._spool._charge(-len(self._buffer.getvalue()))
            self._buffer = io.BytesIO()
        super().close()


class _Segment(io.RawIOBase):
    """``size`` bytes of the spool file from ``start``: written once, then read (pread)."""

    def __init__(self, fd: int, start: int) -> None:
        super().__init__()
        self._fd = fd
        self.start = start
        self.size = 0
        self._position = 0
        self.sealed = False

    def writable(self) -> bool:
        return not self.sealed

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.sealed:
            raise OSError("a spooled part cannot be written after the next one started")
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self.start + self.size)
            self.size += written
            view = view[written:]
        self._position = self.size
        return len(data)

    def read(self, size: int = -1) -> bytes:
        remaining = self.size - self._position
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size <= 0:
            return b""
        data = os.pread(self._fd, size, self.start + self._position)
        self._position += len(data)
        return data

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def fileno(self) -> int:
        """The spool file's descriptor: this part is ``len(self)`` bytes at ``file_offset``
        of it (the Part-10 reader maps it and leaves large values there)."""
        return self._fd

    @property
    def file_offset(self) -> int:
        return self.start

    def __len__(self) -> int:
        return self.size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        """The file belongs to the spool; closing a segment releases nothing."""
        super().close()
