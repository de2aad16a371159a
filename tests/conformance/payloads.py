"""Deterministic test payloads and stream wrappers for the conformance suite."""

from __future__ import annotations

import io
import random

MIB = 1024 * 1024

#: Above every adapter's single-shot threshold (8 MiB by default), so a put
#: of this size goes through multipart upload / staged blocks / SLO segments.
LARGE_SIZE = 20 * MIB


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` pseudo-random bytes; different seeds give different content."""
    return random.Random(seed).randbytes(size)


class UnsizedStream(io.RawIOBase):
    """A readable stream that cannot seek or tell, like a socket or a pipe.

    Adapters must then stream without knowing the size up front.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._data) - self._position, 256 * 1024)
        target[:count] = self._data[self._position : self._position + count]
        self._position += count
        return count
