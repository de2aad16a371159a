"""Writing multipart bodies: the RI's LF layout, RFC 2046 multipart/related and form-data.

Every body is a generator over its parts, so a whole study streams through
with one item's chunk in memory at a time, and its exact length is known up
front. The RI's MINT2DICOM reads the LF layout line by line: header lines are
exactly ``Content-Type``, ``Content-ID``, ``Content-Length`` in that order,
and the length is what it trusts. Uploads (the client's pushes, DICOM2MINT
forms) are the same parts with a ``Content-Disposition`` or without a
Content-ID. Standard library only: the server and the client both use it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Protocol


class ReadStream(Protocol):
    """What a part's content is read from (a stored item reader, a BytesIO...)."""

    def read(self, size: int = ..., /) -> bytes | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class OutPart:
    """One part to send: its content type, Content-ID, length and a way to open it.

    ``disposition`` (form-data uploads) is sent first when given; an empty
    ``content_id`` sends no Content-ID line.
    """

    content_type: str
    content_id: str
    length: int
    open: Callable[[], ReadStream]
    disposition: str | None = None


def form_part(
    name: str, filename: str, content_type: str, length: int, opener: Callable[[], ReadStream]
) -> OutPart:
    """A ``multipart/form-data`` file part (what DICOM2MINT and our client send)."""
    disposition = f'form-data; name="{name}"; filename="{filename}"'
    return OutPart(content_type, "", length, opener, disposition)


def form_content_type(boundary: str) -> str:
    return f"multipart/form-data; boundary={boundary}"


def new_boundary() -> str:
    """A random boundary that cannot plausibly occur inside DICOM content."""
    return "MINT-" + secrets.token_hex(16)


def ri_content_type(boundary: str) -> str:
    """The Content-Type header of the RI's multi-item stream."""
    return f'multipart/x-mixed-replace; boundary="{boundary}"'


def related_content_type(boundary: str, first_type: str) -> str:
    """An RFC 2387 multipart/related Content-Type whose root part has ``first_type``."""
    return f'multipart/related; type="{first_type}"; boundary="{boundary}"'


def _chunks(body: ReadStream) -> Iterator[bytes]:
    """The stream's own chunks when it offers them (no copy), else 1 MiB reads."""
    iter_chunks = getattr(body, "iter_chunks", None)
    if iter_chunks is not None:
        yield from iter_chunks()
        return
    while chunk := body.read(1024 * 1024):
        yield chunk


def _head(part: OutPart, delimiter: bytes, eol: bytes) -> bytes:
    lines = [delimiter]
    if part.disposition is not None:
        lines.append(b"Content-Disposition: " + part.disposition.encode("utf-8"))
    lines.append(b"Content-Type: " + part.content_type.encode("ascii"))
    if part.content_id:
        lines.append(b"Content-ID: <" + part.content_id.encode("ascii") + b">")
    lines.append(b"Content-Length: " + str(part.length).encode("ascii"))
    return eol.join(lines) + eol + eol


def multipart_length(parts: Sequence[OutPart], boundary: str, *, crlf: bool) -> int:
    """The exact size of :func:`iter_multipart`'s output, so it can be sent with a
    Content-Length (no chunked encoding, and clients can show progress)."""
    eol = b"\r\n" if crlf else b"\n"
    delimiter = b"--" + boundary.encode("ascii")
    heads = sum(len(_head(part, delimiter, eol)) + part.length + len(eol) for part in parts)
    return heads + len(delimiter) + 2 + len(eol)


def iter_multipart(parts: Iterable[OutPart], boundary: str, *, crlf: bool) -> Iterator[bytes]:
    """Yield the body of a multipart message with LF (RI) or CRLF (RFC 2046) breaks."""
    eol = b"\r\n" if crlf else b"\n"
    delimiter = b"--" + boundary.encode("ascii")
    for part in parts:
        yield _head(part, delimiter, eol)
        sent = 0
        with closing(part.open()) as body:
            for chunk in _chunks(body):
                sent += len(chunk)
                yield chunk
        if sent != part.length:
            # The length was already promised in the part header: a stream
            # that disagrees must not end as if it were well formed.
            raise OSError(f"part {part.content_id} sent {sent} bytes, announced {part.length}")
        yield eol
    yield delimiter + b"--" + eol
