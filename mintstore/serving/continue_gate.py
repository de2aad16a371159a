"""``Expect: 100-continue`` answered by the application's first body read, not before.

gunicorn sends ``100 Continue`` as soon as it has parsed the head, so a client
learns that its 2 GB body is refused (401, 413, 415) only after sending it. Here
the worker's ``pre_request`` hook takes the expectation away from gunicorn and
leaves the socket for :class:`ContinueGate`, which sends the ``100`` when the
application first reads the body. An application that answers without reading
(a refusal) never sends it, and gunicorn closes the connection afterwards
because the body was not read.

The hook and the gate run in the same worker thread, one request at a time, so
a thread-local is enough to pass the socket between them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_pending = threading.local()


def pre_request(worker: Any, req: Any) -> None:
    """gunicorn hook: keep the ``100 Continue`` for the application to trigger."""
    _pending.sock = None
    if getattr(req, "_expected_100_continue", False):
        req._expected_100_continue = False
        _pending.sock = req.unreader.sock if hasattr(req.unreader, "sock") else None


class _ContinueOnRead:
    """``wsgi.input`` that sends ``100 Continue`` before the first read."""

    def __init__(self, stream: Any, sock: Any) -> None:
        self._stream = stream
        self._sock = sock

    def _go(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def read(self, *args: Any) -> bytes:
        self._go()
        data: bytes = self._stream.read(*args)
        return data

    def readinto(self, buffer: Any) -> int:
        """The server's one-copy ``readinto`` (see request_body.py), after the 100."""
        self._go()
        native = getattr(self._stream, "readinto", None)
        if native is None:
            data = self._stream.read(len(memoryview(buffer).cast("B")))
            memoryview(buffer).cast("B")[: len(data)] = data
            return len(data)
        return int(native(buffer))

    def readline(self, *args: Any) -> bytes:
        self._go()
        data: bytes = self._stream.readline(*args)
        return data

    def readlines(self, *args: Any) -> list[bytes]:
        self._go()
        lines: list[bytes] = self._stream.readlines(*args)
        return lines

    def __iter__(self) -> Any:
        self._go()
        return iter(self._stream)


class ContinueGate:
    """WSGI middleware pairing with :func:`pre_request`."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sock = getattr(_pending, "sock", None)
        _pending.sock = None
        if sock is not None:
            environ["wsgi.input"] = _ContinueOnRead(environ["wsgi.input"], sock)
        return self.app(environ, start_response)
