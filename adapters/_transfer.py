"""Upload planning and URL options shared by the cloud adapters.

Every cloud backend has the same decision to make on ``put``: one request for
small content, a multi-request upload (S3 multipart, Azure blocks, Swift SLO
segments) for large content, and the put must stream a file object without
ever holding it whole. The size is often unknown (a socket, a pipe), so the
decision is made by reading at most ``threshold + 1`` bytes: if the stream
ends within them the content is small and already in memory; otherwise those
bytes become the start of the first part.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from mintstore.errors import ConfigurationError

from .base import PutData

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TransferOptions:
    """Sizes a cloud adapter works with, overridable from the store URL.

    ``multipart_threshold``: content larger than this goes through the
    backend's large-object path (tests set it low to exercise that path
    with small objects). ``part_size``: bytes per part/block/segment.
    ``page_size``: keys per listing request (tests set it low to exercise
    paging without writing thousands of keys).
    """

    multipart_threshold: int
    part_size: int
    page_size: int

    @classmethod
    def from_options(
        cls,
        options: Mapping[str, str],
        *,
        defaults: TransferOptions,
        min_part_size: int,
        max_page_size: int,
    ) -> TransferOptions:
        """Read the three sizes from URL options, refusing unusable values."""
        threshold = int_option(options, "multipart_threshold", defaults.multipart_threshold)
        part_size = int_option(options, "part_size", defaults.part_size)
        page_size = int_option(options, "page_size", defaults.page_size)
        if threshold < 0:
            raise ConfigurationError("multipart_threshold must be >= 0")
        if part_size < min_part_size:
            raise ConfigurationError(f"part_size must be >= {min_part_size} for this backend")
        if not 1 <= page_size <= max_page_size:
            raise ConfigurationError(f"page_size must be between 1 and {max_page_size}")
        return cls(threshold, part_size, page_size)


def int_option(options: Mapping[str, str], name: str, default: int) -> int:
    """An integer URL option, with a message naming the option when it is not one."""
    raw = options.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"store URL option {name}={raw!r} is not an integer") from None


def read_up_to(stream: IO[bytes], count: int) -> bytes:
    """Read ``count`` bytes, or fewer only at end of stream.

    ``read(n)`` on raw streams and sockets may return less than ``n`` before
    the end, so a single call cannot tell "small object" from "short read".
    """
    first = stream.read(count)
    if not first or len(first) == count:
        return first or b""
    pieces = [first]
    remaining = count - len(first)
    while remaining > 0:
        piece = stream.read(remaining)
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    return b"".join(pieces)


class LargeContent:
    """Content known to exceed the threshold, handed out part by part.

    Holds at most the already-read head plus one part in memory.
    """

    def __init__(self, head: bytes | memoryview, rest: IO[bytes] | None, size: int | None) -> None:
        self._head = memoryview(head)
        self._rest = rest
        #: Total size if known up front (bytes input or a seekable file).
        self.size = size

    def parts(self, part_size: int) -> Iterator[bytes]:
        """Yield consecutive parts of exactly ``part_size`` bytes (the last may be shorter)."""
        head = self._head
        while len(head) >= part_size:
            yield bytes(head[:part_size])
            head = head[part_size:]
        if self._rest is None:
            if head:
                yield bytes(head)
            return
        while True:
            part = bytes(head) + read_up_to(self._rest, part_size - len(head))
            head = memoryview(b"")
            if len(part) < part_size:
                if part:
                    yield part
                return
            yield part


def plan_upload(data: PutData, threshold: int) -> bytes | LargeContent:
    """Return the whole content if it is at most ``threshold`` bytes, else a ``LargeContent``."""
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data).cast("B")
        if len(view) <= threshold:
            return data if isinstance(data, bytes) else bytes(view)
        return LargeContent(view, None, len(view))
    size = _remaining_size(data)
    head = read_up_to(data, threshold + 1)
    if len(head) <= threshold:
        return head
    return LargeContent(head, data, size)


def _remaining_size(stream: IO[bytes]) -> int | None:
    try:
        if not stream.seekable():
            return None
        position = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(position)
        return end - position
    except (AttributeError, OSError, ValueError):
        return None
