"""The multipart/related bodies WADO-RS answers with (RFC 2387, CRLF).

Unlike the MINT API's writer, the parts here are often made while the body
streams (an instance rebuilt as Part-10, a decoded frame), so each part is
one bytes value with its own Content-Length and the whole body goes out
chunked. Parts are produced a few ahead on a small thread pool so that
object-store reads overlap with sending.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

#: Makes one part: its media type and its content, whole or in pieces.
PartMaker = Callable[[], tuple[str, bytes | list[bytes]]]


def new_boundary() -> str:
    return "DICOMweb-" + secrets.token_hex(16)


def content_type(boundary: str, part_type: str, transfer_syntax: str | None = None) -> str:
    """The response's Content-Type: the parts' type (and syntax) as parameters."""
    value = f'multipart/related; type="{part_type}"; boundary={boundary}'
    if transfer_syntax is not None:
        value += f"; transfer-syntax={transfer_syntax}"
    return value


def part_head(boundary: str, part_type: str, length: int, location: str | None = None) -> bytes:
    head = f"--{boundary}\r\nContent-Type: {part_type}\r\nContent-Length: {length}\r\n"
    if location is not None:
        head += f"Content-Location: {location}\r\n"
    return (head + "\r\n").encode("ascii")


def body_length(boundary: str, parts: Iterable[tuple[str, int]]) -> int:
    """The exact size of :func:`iter_body`'s output for parts of these (type, length)."""
    total = sum(len(part_head(boundary, kind, length)) + length + 2 for kind, length in parts)
    return total + len(f"--{boundary}--\r\n")


def iter_body(boundary: str, makers: Iterable[PartMaker], ahead: int = 4) -> Iterator[bytes]:
    """The body, making up to ``ahead`` parts concurrently, in order.

    ``ahead=0`` makes each part on the calling thread when its turn comes: for
    parts that are cheap to make, waiting for another thread's result costs
    more (a wake-up per part, long on a busy machine) than making them here.
    """
    if ahead <= 0:
        for maker in makers:
            part_type, body = maker()
            pieces = [body] if isinstance(body, bytes) else body
            yield part_head(boundary, part_type, sum(len(p) for p in pieces))
            yield from pieces
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode("ascii")
        return
    pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="wado")
    pending: deque[Future[tuple[str, bytes | list[bytes]]]] = deque()
    source = iter(makers)
    try:
        for maker in source:
            pending.append(pool.submit(maker))
            if len(pending) >= ahead:
                break
        while pending:
            part_type, body = pending.popleft().result()
            nxt = next(source, None)
            if nxt is not None:
                pending.append(pool.submit(nxt))
            pieces = [body] if isinstance(body, bytes) else body
            yield part_head(boundary, part_type, sum(len(p) for p in pieces))
            yield from pieces
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode("ascii")
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def single_body(boundary: str, parts: Iterable[tuple[str, bytes]]) -> bytes:
    """A whole (small) multipart body at once."""
    out = bytearray()
    for part_type, body in parts:
        out += part_head(boundary, part_type, len(body))
        out += body
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return bytes(out)
