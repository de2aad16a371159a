"""A request body that reads into the caller's buffer, for gunicorn's worker.

gunicorn's body stack copies every byte several times on its way to the
application: the socket's ``recv`` makes a new ``bytes``, the unreader, the
length or chunked reader and ``Body`` each keep a ``BytesIO`` that is
written, read back with ``getvalue`` and sliced (twice) per call, and
werkzeug copies the result once more into the buffer its caller passed to
``readinto``. Measured on a 159 MB chunked upload that was ~8 copies of the
body, the largest single cost of the request thread after parsing.

:class:`DirectBody` wraps gunicorn's ``Body`` and adds ``readinto``, which
receives the body's bytes straight into the caller's buffer (``recv_into``,
after whatever the unreader already holds):

* a body of known length is read up to its length;
* a chunked body is read by :class:`_Chunks`, which takes over from
  gunicorn's chunk parser before anything was read: it reads each chunk's
  data itself and leaves the framing lines to gunicorn's own code (chunk
  sizes, extensions and trailers, validated and bounded as gunicorn does;
  the bytes pipelined after the body handed back to the unreader), and it
  is installed as gunicorn's parser too, so gunicorn's own reads (``read``,
  the drain of an unread body before the next request) continue from the
  same place.

Anything else (``read``, ``readline``, iteration) is the wrapped ``Body``'s,
and both paths share its buffers, so mixing them loses nothing. A read that
raises marks the body failed, as gunicorn's own does, so the connection is
closed rather than reused at an unknown position.
"""

from __future__ import annotations

import inspect
import io
import socket
from collections.abc import Iterator
from typing import Any

from gunicorn.http.body import ChunkedReader, LengthReader
from gunicorn.http.errors import ChunkMissingTerminator, NoMoreData


class DirectBody:
    """gunicorn's ``Body`` with a ``readinto`` that copies each byte once."""

    def __init__(self, body: Any, unreader: Any) -> None:
        self._body = body
        self._unreader = unreader
        self._socket: socket.socket | None = getattr(unreader, "sock", None)
        self._chunks: _Chunks | None = None
        reader = body.reader
        if (
            isinstance(reader, ChunkedReader)
            and self._socket is not None
            and inspect.getgeneratorstate(reader.parser) == inspect.GEN_CREATED
            and not reader.buf.tell()
        ):
            # Nothing of the body read yet: take over, and let gunicorn's own
            # reads go through the same state (its parser is never started).
            self._chunks = _Chunks(reader, unreader, self._socket)
            reader.parser = self._chunks.pieces()

    @property
    def failed(self) -> bool:
        return bool(self._body.failed)

    @property
    def reader(self) -> Any:
        return self._body.reader

    def read(self, size: int | None = None) -> bytes:
        return bytes(self._body.read(size))

    def readline(self, size: int | None = None) -> bytes:
        return bytes(self._body.readline(size))

    def readlines(self, size: int | None = None) -> list[bytes]:
        return list(self._body.readlines(size))

    def __iter__(self) -> Any:
        return iter(self._body)

    def readinto(self, buffer: Any) -> int:
        """Fill up to ``len(buffer)`` bytes; 0 only at the end of the body."""
        view = memoryview(buffer).cast("B")
        if not view:
            return 0
        try:
            if self._body.buf.tell():  # bytes a readline() left behind
                return _from_kept(self._body, view)
            reader = self._body.reader
            if isinstance(reader, LengthReader) and self._socket is not None:
                return self._length_into(reader, view)
            if isinstance(reader, ChunkedReader):
                return self._chunked_into(reader, view)
            return self._from_read(view)
        except BaseException:
            self._body.failed = True
            raise

    def _from_read(self, view: memoryview) -> int:
        data = self._body.reader.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _length_into(self, reader: LengthReader, view: memoryview) -> int:
        wanted = min(len(view), reader.length)
        if wanted <= 0:
            return 0
        assert self._socket is not None
        # 0 is the client closing early: the caller sees fewer bytes than
        # declared (CheckedInput turns that into a 400).
        count = _receive(self._unreader, self._socket, view[:wanted])
        reader.length -= count
        return count

    def _chunked_into(self, reader: ChunkedReader, view: memoryview) -> int:
        if reader.buf.tell():  # data gunicorn's read() took from the parser and kept
            return _from_kept(reader, view)
        if self._chunks is None:
            return self._from_read(view)  # gunicorn's parser had started: its way
        return self._chunks.into(view)


class _Chunks:
    """The data of a chunked body, read into the caller's buffer chunk by chunk.

    Framing (the size line before each chunk, the CRLF after it, the last
    chunk's trailers) goes through gunicorn's ``parse_chunk_size`` on the
    unreader, so its validation and bounds apply unchanged; only the data
    between is received here, never past the current chunk's end.
    """

    def __init__(self, reader: ChunkedReader, unreader: Any, sock: socket.socket) -> None:
        self._reader = reader
        self._unreader = unreader
        self._socket = sock
        self._remaining = 0  # data bytes left in the current chunk
        self._started = False  # a size line was read (a CRLF ends each chunk after it)
        self._finished = False

    def into(self, view: memoryview) -> int:
        """Up to ``len(view)`` bytes of data; 0 once the last chunk and its trailers are read."""
        while self._remaining == 0:
            if self._finished or not self._next_chunk():
                return 0
        count = _receive(self._unreader, self._socket, view[: min(len(view), self._remaining)])
        if count == 0:
            raise NoMoreData(b"")  # the client closed inside a chunk
        self._remaining -= count
        return count

    def pieces(self) -> Iterator[bytes]:
        """The same data as gunicorn's parser yields it (for its own ``read``)."""
        buffer = bytearray(64 * 1024)
        while count := self.into(memoryview(buffer)):
            yield bytes(buffer[:count])

    def _next_chunk(self) -> bool:
        """Past the CRLF ending the current chunk, read the next size line;
        False at the last chunk (whose trailers gunicorn has then read)."""
        if self._started:
            end = self._unreader.read(2)
            if end != b"\r\n":
                raise ChunkMissingTerminator(end)
        self._started = True
        size, rest = self._reader.parse_chunk_size(self._unreader)
        if size == 0:
            self._finished = True
            return False
        if rest:
            self._unreader.unread(rest)
        self._remaining = size
        return True


def _from_kept(owner: Any, view: memoryview) -> int:
    """Fill ``view`` from the bytes gunicorn's ``Body`` or ``ChunkedReader`` kept in its
    ``buf``; the rest stays there, as gunicorn's own reads expect."""
    held = owner.buf.getvalue()
    count = min(len(held), len(view))
    view[:count] = memoryview(held)[:count]
    owner.buf = io.BytesIO()
    owner.buf.write(memoryview(held)[count:])
    return count


def _receive(unreader: Any, sock: socket.socket, view: memoryview) -> int:
    """Fill ``view`` from what the unreader holds, else with one ``recv_into``
    (never more than ``len(view)``: the caller bounds it by the body or chunk)."""
    held = unreader.take_buffered()
    if not held:
        return int(sock.recv_into(view))
    count = min(len(held), len(view))
    view[:count] = memoryview(held)[:count]
    if count < len(held):
        unreader.unread(held[count:])
    return count


def install(request: Any) -> None:
    """Give ``request`` a :class:`DirectBody` (before the WSGI environ is built)."""
    body = getattr(request, "body", None)
    unreader = getattr(request, "unreader", None)
    if body is None or unreader is None or isinstance(body, DirectBody):
        return
    if not hasattr(body, "buf") or not hasattr(body, "reader"):
        return  # not gunicorn's Body (an HTTP/2 stream, say): leave it alone
    request.body = DirectBody(body, unreader)
