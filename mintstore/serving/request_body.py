"""A request body that reads into the caller's buffer, for gunicorn's worker.

gunicorn's body stack copies every byte several times on its way to the
application: the socket's ``recv`` makes a new ``bytes``, the unreader, the
length or chunked reader and ``Body`` each keep a ``BytesIO`` that is
written, read back with ``getvalue`` and sliced (twice) per call, and
werkzeug copies the result once more into the buffer its caller passed to
``readinto``. Measured on a 159 MB chunked upload that was ~8 copies of the
body, the largest single cost of the request thread after parsing.

:class:`DirectBody` wraps gunicorn's ``Body`` and adds ``readinto``:

* a body of known length is received straight into the caller's buffer
  (``recv_into``), after whatever the unreader already holds;
* a chunked body still goes through gunicorn's chunk parser (its framing and
  validation: sizes, extensions, trailers, the bytes pipelined after the
  body), but each data piece it yields is copied once into the caller's
  buffer instead of through two ``BytesIO`` stages.

Anything else (``read``, ``readline``, iteration, gunicorn's drain of an
unread body before the next request) is the wrapped ``Body``'s, and both
paths share its buffers, so mixing them loses nothing. A read that raises
marks the body failed, as gunicorn's own does, so the connection is closed
rather than reused at an unknown position.
"""

from __future__ import annotations

import io
import socket
from typing import Any

from gunicorn.http.body import ChunkedReader, LengthReader


class DirectBody:
    """gunicorn's ``Body`` with a ``readinto`` that copies each byte once."""

    def __init__(self, body: Any, unreader: Any) -> None:
        self._body = body
        self._unreader = unreader
        self._socket: socket.socket | None = getattr(unreader, "sock", None)

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
                return self._from_buffered(view)
            reader = self._body.reader
            if isinstance(reader, LengthReader) and self._socket is not None:
                return self._length_into(reader, view)
            if isinstance(reader, ChunkedReader):
                return self._chunked_into(reader, view)
            return self._from_read(view)
        except BaseException:
            self._body.failed = True
            raise

    def _from_buffered(self, view: memoryview) -> int:
        held = self._body.buf.getvalue()
        count = min(len(held), len(view))
        view[:count] = memoryview(held)[:count]
        self._body.buf = io.BytesIO()
        self._body.buf.write(memoryview(held)[count:])
        return count

    def _from_read(self, view: memoryview) -> int:
        data = self._body.reader.read(len(view))
        view[: len(data)] = data
        return len(data)

    def _length_into(self, reader: LengthReader, view: memoryview) -> int:
        wanted = min(len(view), reader.length)
        if wanted <= 0:
            return 0
        held = self._unreader.take_buffered()
        if held:
            count = min(len(held), wanted)
            view[:count] = memoryview(held)[:count]
            if count < len(held):
                self._unreader.unread(held[count:])
        else:
            assert self._socket is not None
            count = self._socket.recv_into(view[:wanted])
            # 0 is the client closing early: the caller sees fewer bytes than
            # declared (CheckedInput turns that into a 400).
        reader.length -= count
        return int(count)

    def _chunked_into(self, reader: ChunkedReader, view: memoryview) -> int:
        if reader.buf.tell():  # the rest of a piece an earlier call could not take
            held = reader.buf.getvalue()
            reader.buf = io.BytesIO()
        else:
            held = self._next_piece(reader)
            while held is not None and not held:  # an empty piece is not the end
                held = self._next_piece(reader)
            if held is None:
                return 0
        count = min(len(held), len(view))
        view[:count] = memoryview(held)[:count]
        if count < len(held):
            reader.buf.write(memoryview(held)[count:])
        return count

    @staticmethod
    def _next_piece(reader: ChunkedReader) -> bytes | None:
        """The parser's next data piece; None once the last chunk and trailers are read."""
        if reader.parser is None:
            return None
        try:
            piece: bytes = next(reader.parser)
        except StopIteration:
            reader.parser = None
            return None
        return piece


def install(request: Any) -> None:
    """Give ``request`` a :class:`DirectBody` (before the WSGI environ is built)."""
    body = getattr(request, "body", None)
    unreader = getattr(request, "unreader", None)
    if body is None or unreader is None or isinstance(body, DirectBody):
        return
    if not hasattr(body, "buf") or not hasattr(body, "reader"):
        return  # not gunicorn's Body (an HTTP/2 stream, say): leave it alone
    request.body = DirectBody(body, unreader)
