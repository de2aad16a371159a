"""Reading ``multipart/*`` bodies: streamed and spooled, or by Content-Length.

werkzeug's form parser only knows ``multipart/form-data`` and insists on a
``Content-Disposition`` per part; MINT also receives ``multipart/related``
(DICOMweb-style STOW) whose parts have none. :func:`iter_parts` handles both,
one part at a time: each part's body is copied into a spooled temporary file
(memory up to a small threshold, then disk) and handed to the caller before
the next part is read, so a multi-gigabyte upload never sits in memory.
:func:`iter_counted_parts` reads a multi-item stream the way the RI's
MINT2DICOM does, trusting each part's Content-Length. Standard library only:
the server and the client both use this module.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import IO

from mintstore.errors import InvalidInput

from .spool import RequestSpool

READ_SIZE = 1024 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,70}")


def parse_options_header(value: str) -> tuple[str, dict[str, str]]:
    """``'form-data; name="x"'`` -> ``("form-data", {"name": "x"})`` (RFC 2045/2183 rules)."""
    if not value.strip():
        return "", {}
    message = Message()
    message["X"] = value
    params = message.get_params(header="X") or []
    main = params[0][0].strip() if params else ""
    options: dict[str, str] = {}
    for key, raw in params[1:]:
        text = raw if isinstance(raw, str) else str(raw[2])
        options[key.lower()] = text
    return main, options


class Headers:
    """A part's header lines; lookup ignores case, the first occurrence wins."""

    def __init__(self, lines: Mapping[str, str] | None = None) -> None:
        self._lines: list[tuple[str, str]] = list(lines.items()) if lines else []

    def add(self, name: str, value: str) -> None:
        self._lines.append((name, value))

    def get(self, name: str, default: str = "") -> str:
        wanted = name.lower()
        for key, value in self._lines:
            if key.lower() == wanted:
                return value
        return default

    def __getitem__(self, name: str) -> str:
        if name not in self:
            raise KeyError(name)
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._lines)

    def items(self) -> list[tuple[str, str]]:
        return list(self._lines)


@dataclass
class Part:
    """One body part: its headers and its content, spooled and rewound."""

    headers: Headers
    body: IO[bytes]
    size: int

    @property
    def content_type(self) -> str:
        """The part's media type, lower-cased, without parameters."""
        value, _ = parse_options_header(self.headers.get("Content-Type", ""))
        return value.lower()

    @property
    def name(self) -> str | None:
        """The form field name from Content-Disposition (form-data), if any."""
        _, options = parse_options_header(self.headers.get("Content-Disposition", ""))
        return options.get("name")

    @property
    def filename(self) -> str | None:
        """The file name from Content-Disposition, if any."""
        _, options = parse_options_header(self.headers.get("Content-Disposition", ""))
        return options.get("filename")


def boundary_of(content_type_header: str) -> str:
    """The boundary parameter of a multipart Content-Type, validated (RFC 2046)."""
    _, options = parse_options_header(content_type_header)
    boundary = options.get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary) or boundary.endswith(" "):
        raise InvalidInput("multipart body without a valid boundary parameter")
    return boundary


def iter_parts(
    stream: IO[bytes],
    boundary: str,
    spool_dir: str | None = None,
    spool: RequestSpool | None = None,
) -> Iterator[Part]:
    """Yield each part of a multipart body read from ``stream``.

    Each part is read completely (into its spool) before it is yielded and
    the next one is not read until the caller asks, so a caller that feeds
    each part to the store as it comes keeps at most one part in flight. The
    caller owns ``part.body`` and closes it. Line breaks may be CRLF or bare
    LF (some old clients wrote LF).
    """
    reader = _Reader(stream, boundary.encode("latin-1"))
    reader.skip_preamble()
    while reader.next_part_follows():
        headers = reader.read_headers()
        body: IO[bytes]
        if spool is not None:  # bounded memory per request, one file (see multipart/spool.py)
            body = spool.new_body()
        else:
            body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=spool_dir)  # noqa: SIM115 - the caller owns and closes it
        try:
            size = reader.copy_body(body)
            body.seek(0)
        except BaseException:
            body.close()
            raise
        yield Part(headers=headers, body=body, size=size)
    # The epilogue, read to the end: a body is only whole once its last byte
    # arrived (a Content-Length longer than what came must fail the request
    # before its caller commits, and ``readinto`` returns short counts).
    reader.skip_epilogue()


class _Reader:
    """The buffer management behind :func:`iter_parts`."""

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self._stream = stream
        self._delimiter = b"--" + boundary
        self._buffer = bytearray()
        self._eof = False
        # One reused landing buffer: ``read(n)`` on the request stream
        # (werkzeug's LimitedStream, a RawIOBase) allocates and zeroes a fresh
        # n-byte bytearray per call and copies it once more into the bytes it
        # returns; ``readinto`` fills this one instead.
        self._landing: memoryview | None = (
            memoryview(bytearray(READ_SIZE)) if hasattr(stream, "readinto") else None
        )

    def _fill(self) -> bool:
        if self._eof:
            return False
        if self._landing is not None:
            try:
                count = self._stream.readinto(self._landing)  # type: ignore[attr-defined]
            except NotImplementedError:  # a RawIOBase that only implements read()
                self._landing = None
                return self._fill()
            if count:
                self._buffer += self._landing[:count]
                return True
            self._eof = True
            return False
        chunk = self._stream.read(READ_SIZE)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def skip_epilogue(self) -> None:
        """Read what follows the closing delimiter to the end of the stream, dropping it."""
        self._buffer.clear()
        while self._fill():
            self._buffer.clear()

    def skip_preamble(self) -> None:
        while True:
            if self._buffer.startswith(self._delimiter):
                del self._buffer[: len(self._delimiter)]
                return
            index = self._buffer.find(b"\n" + self._delimiter)
            if index >= 0:
                del self._buffer[: index + 1 + len(self._delimiter)]
                return
            keep = len(self._delimiter) + 1
            if len(self._buffer) > keep:
                del self._buffer[:-keep]
            if not self._fill():
                raise InvalidInput("multipart body has no opening boundary")

    def next_part_follows(self) -> bool:
        """After a delimiter: True if a part follows, False at the closing one."""
        while len(self._buffer) < 2 and self._fill():
            pass
        if self._buffer[:2] == b"--":
            return False
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                if self._buffer[:end].strip(b" \t\r"):
                    raise InvalidInput("garbage after a multipart boundary")
                del self._buffer[: end + 1]
                return True
            if len(self._buffer) > MAX_HEADER_BYTES or not self._fill():
                raise InvalidInput("truncated multipart body (no line after a boundary)")

    def read_headers(self) -> Headers:
        while True:
            match = re.search(rb"\r?\n\r?\n", self._buffer)
            if self._buffer.startswith(b"\r\n") or self._buffer.startswith(b"\n"):
                block, cut = b"", (2 if self._buffer.startswith(b"\r\n") else 1)
                break
            if match is not None:
                block, cut = bytes(self._buffer[: match.start()]), match.end()
                break
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise InvalidInput("multipart part headers are too long")
            if not self._fill():
                raise InvalidInput("truncated multipart body (part headers never end)")
        del self._buffer[:cut]
        headers = Headers()
        for line in block.decode("latin-1").splitlines():
            name, colon, value = line.partition(":")
            if not colon:
                raise InvalidInput(f"malformed multipart header line {line[:80]!r}")
            headers.add(name.strip(), value.strip())
        return headers

    def _write_front(self, out: IO[bytes], count: int) -> None:
        """Write the buffer's first ``count`` bytes without slicing a copy of them.

        The view must be released before the buffer is resized (``del``).
        """
        with memoryview(self._buffer) as view, view[:count] as front:
            out.write(front)

    def copy_body(self, out: IO[bytes]) -> int:
        """Copy bytes up to the next delimiter into ``out``; consume the delimiter."""
        marker = b"\n" + self._delimiter
        keep = len(marker) + 1
        written = 0
        while len(self._buffer) < len(self._delimiter) and self._fill():
            pass
        if self._buffer.startswith(self._delimiter):  # an empty body
            del self._buffer[: len(self._delimiter)]
            return 0
        while True:
            index = self._buffer.find(marker)
            if index >= 0:
                end = index - 1 if index > 0 and self._buffer[index - 1] == 0x0D else index
                self._write_front(out, end)
                written += end
                del self._buffer[: index + len(marker)]
                return written
            if len(self._buffer) > keep:
                flush = len(self._buffer) - keep
                self._write_front(out, flush)
                written += flush
                del self._buffer[:flush]
            if not self._fill():
                raise InvalidInput("truncated multipart body (no closing boundary)")


def iter_counted_parts(stream: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    """(Content-ID, content) of each part, read as MINT2DICOM reads: line by line.

    Each part: ``--boundary``, header lines (``Content-Type``, ``Content-ID:
    <id@study>``, ``Content-Length: N``), an empty line, N bytes, a line
    break (LF or CRLF). The announced length is trusted, not the boundary.
    """
    while True:
        line = stream.readline()
        if not line:
            raise InvalidInput("multi-item stream ended without its closing boundary")
        line = line.rstrip(b"\r\n")
        if not line:
            continue
        if not line.startswith(b"--"):
            raise InvalidInput(f"expected a boundary line, got {line[:60]!r}")
        if line.endswith(b"--"):
            return
        headers = Headers()
        while header := stream.readline().rstrip(b"\r\n"):
            name, _, value = header.decode("latin-1").partition(":")
            headers.add(name.strip(), value.strip())
        content_id = headers.get("Content-ID").strip("<>")
        length_text = headers.get("Content-Length")
        if not length_text.isdigit():
            raise InvalidInput(f"part {content_id!r} has no valid Content-Length")
        length = int(length_text)
        data = _read_exactly(stream, length)
        if len(data) != length:
            raise InvalidInput(f"part {content_id} truncated: {len(data)} of {length} bytes")
        yield content_id, data


def _read_exactly(stream: IO[bytes], length: int) -> bytes:
    """``length`` bytes, or fewer only at the end of the stream."""
    pieces: list[bytes] = []
    remaining = length
    while remaining > 0:
        piece = stream.read(min(remaining, READ_SIZE))
        if not piece:
            break
        pieces.append(piece)
        remaining -= len(piece)
    return b"".join(pieces)
