"""Request bodies that did not arrive whole never reach a commit.

gunicorn hands the application a body reader that, when the client closes
early, simply returns fewer bytes than ``Content-Length`` promised: an upload
cut short would be stored as if complete. :class:`BodyGuard` wraps
``wsgi.input`` so that a body ending before its declared length, a socket
error or timeout while reading, or a malformed chunked encoding raises
:class:`~werkzeug.exceptions.ClientDisconnected` (400) inside the route,
which aborts the request before anything is committed.

It also counts the bytes read, for the access log and ``/metrics``. (A
declared ``Content-Length`` over the limit is refused with 413 by Flask when
the route first touches the body, before any read, so before any ``100
Continue``: see :mod:`mintstore.serving.continue_gate`.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from werkzeug.exceptions import BadRequest, ClientDisconnected, HTTPException, RequestTimeout

from mintstore.errors import SlowRequestBody

T = TypeVar("T")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: A refused body up to this size is read and dropped so the client sees the answer.
DISCARD_REFUSED_UP_TO = 256 * 1024 * 1024

#: environ key of the :class:`CheckedInput` of a request (the access log reads its count).
INPUT_KEY = "mintstore.input"


class CheckedInput:
    """A ``wsgi.input`` that fails loudly when the body is cut short."""

    def __init__(self, stream: Any, declared: int | None) -> None:
        self._stream = stream
        self.declared = declared
        self.received = 0

    def _check(self, data: bytes, wanted: int | None) -> bytes:
        self.received += len(data)
        if self.declared is not None and self.received < self.declared:
            short = not data or (wanted is not None and wanted >= 0 and len(data) < wanted)
            if short or wanted is None or wanted < 0:
                raise ClientDisconnected(
                    f"the request body ended after {self.received} of the "
                    f"{self.declared} bytes its Content-Length declared; nothing was stored"
                )
        return data

    def _guarded(self, method: Callable[..., T], *args: Any) -> T:
        try:
            return method(*args)
        except HTTPException:
            raise
        except SlowRequestBody as exc:
            raise RequestTimeout(f"{exc}; nothing was stored") from None
        except OSError as exc:
            raise ClientDisconnected(
                f"the client stopped sending the request body after {self.received} bytes "
                f"({type(exc).__name__}); nothing was stored"
            ) from None
        except Exception as exc:  # gunicorn's parse errors (bad chunk size, ...)
            raise BadRequest(f"malformed request body after {self.received} bytes: {exc}") from None

    def read(self, size: int | None = -1) -> bytes:
        wanted = None if size is None or size < 0 else size
        if wanted is None:
            data = self._guarded(self._stream.read)
        else:
            data = self._guarded(self._stream.read, wanted)
        return self._check(data, wanted)

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with the next bytes; 0 only at the end of the body.

        Uses the server's ``readinto`` where it has one (mintstore's gunicorn
        worker receives straight into ``buffer``), else ``read``. Unlike
        ``read(n)``, a short count is normal here (what the socket had); only
        0 before the declared length is a body cut short.
        """
        native = getattr(self._stream, "readinto", None)
        if native is not None:
            count = int(self._guarded(native, buffer))
        else:
            data = self._guarded(self._stream.read, len(memoryview(buffer).cast("B")))
            count = len(data)
            memoryview(buffer).cast("B")[:count] = data
        self.received += count
        if count == 0 and self.declared is not None and self.received < self.declared:
            raise ClientDisconnected(
                f"the request body ended after {self.received} of the "
                f"{self.declared} bytes its Content-Length declared; nothing was stored"
            )
        return count

    def readline(self, size: int | None = -1) -> bytes:
        args = () if size is None or size < 0 else (size,)
        line: bytes = self._guarded(self._stream.readline, *args)
        self.received += len(line)
        if not line and self.declared is not None and self.received < self.declared:
            raise ClientDisconnected(
                f"the request body ended after {self.received} of the "
                f"{self.declared} bytes its Content-Length declared; nothing was stored"
            )
        return line

    def discard_rest(self, budget: int) -> None:
        """Read and drop what is left of the body, if that is at most ``budget`` bytes.

        A client that sends its whole body before reading the answer (most do,
        unless they use ``Expect: 100-continue``) would otherwise see a broken
        pipe instead of the 4xx that refused the body.
        """
        if self.declared is not None and self.declared - self.received > budget:
            return
        try:
            while budget > 0:
                data = self._stream.read(min(budget, 1024 * 1024))
                if not data:
                    return
                budget -= len(data)
                self.received += len(data)
        except Exception:  # the client went away: nothing left to be polite to
            return

    def __iter__(self) -> Any:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


def _declared_length(environ: dict[str, Any]) -> int | None:
    value = environ.get("CONTENT_LENGTH", "")
    if value and re.fullmatch(r"[0-9]{1,19}", value):
        return int(value)
    return None


class BodyGuard:
    """WSGI middleware installing a :class:`CheckedInput` for every request."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        declared = _declared_length(environ)
        checked = CheckedInput(environ["wsgi.input"], declared)
        environ["wsgi.input"] = checked
        environ[INPUT_KEY] = checked
        statuses: list[int] = []

        def noting_start(status: str, *rest: Any) -> Any:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, *rest)

        result = self.app(environ, noting_start)
        waiting_for_100 = "100-continue" in environ.get("HTTP_EXPECT", "").lower()
        if statuses and statuses[-1] >= 400 and not waiting_for_100:
            checked.discard_rest(DISCARD_REFUSED_UP_TO)
        return result
