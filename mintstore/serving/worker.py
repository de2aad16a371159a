"""A gthread worker that slow clients cannot starve.

gunicorn's threaded worker hands a connection to a pool thread as soon as its
first byte arrives, and the thread then blocks until the whole request head is
in. Sixteen clients sending one header byte every two seconds thus hold sixteen
threads, and a liveness probe waits behind them. This worker reads request
heads without blocking: whatever bytes are there are taken, and until the head
is complete the connection goes back to the worker's poller (costing no
thread); a head not complete within ``header_timeout`` seconds closes the
connection. Once the head is in, the socket gets an ``io_timeout`` for every
body read and response write, so a client that stops sending (or reading)
frees its thread after that long. A client that keeps sending, but only a
trickle (each byte restarts ``io_timeout``), is measured instead: while a
request body is read, the time the server spends waiting in ``recv`` and the
bytes it gets are summed, and after ``body_rate_window`` seconds of waiting
fewer than ``min_body_rate`` bytes per second of it end the request with a
408. Only waiting counts, so a server that is slow to read (a busy object
store behind it) never blames its client.

Both timeouts come from gunicorn settings the runner fills in
(``mintstore_header_timeout`` is carried on the worker class, see
:func:`configured`), so the worker needs no module state.
"""

from __future__ import annotations

import errno
import socket
import time
from typing import Any

from gunicorn.workers import gthread

from mintstore.errors import SlowRequestBody

from .options import ServingOptions
from .request_body import install as install_direct_body
from .upload_gate import UploadSlots, has_body, refusal, upload_slots

#: How long a fresh connection may hold a thread waiting for its first bytes.
FIRST_BYTES_WAIT = 0.05
#: A head longer than this is left to gunicorn's parser, which refuses it (431/400).
MAX_HEAD_BYTES = 64 * 1024
_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)


class TimedSocket(socket.socket):
    """A socket whose "blocking" mode always has a timeout.

    gunicorn switches connections between non-blocking (in its poller) and
    blocking (in a thread) with ``setblocking``; here blocking means "blocking
    for at most ``io_timeout`` seconds per operation".
    """

    io_timeout: float = 60.0
    min_body_rate: float = 0.0
    body_rate_window: float = 20.0
    _metering = False
    _tripped = False
    _waited = 0.0
    _received = 0

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.io_timeout)
        else:
            super().setblocking(False)

    def meter_body(self, on: bool) -> None:
        """Start (or stop) judging the rate of the bytes a request body arrives at."""
        self._metering = on and self.min_body_rate > 0
        self._waited, self._received = 0.0, 0

    def recv(self, size: int, flags: int = 0) -> bytes:
        if not self._metering:
            return super().recv(size, flags)
        self._check_not_tripped()
        started = time.monotonic()
        data = super().recv(size, flags)
        self._account(time.monotonic() - started, len(data))
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        if not self._metering:
            return super().recv_into(buffer, nbytes, flags)
        self._check_not_tripped()
        started = time.monotonic()
        count = super().recv_into(buffer, nbytes, flags)
        self._account(time.monotonic() - started, count)
        return count

    def _check_not_tripped(self) -> None:
        # Once too slow, every later read fails at once: nothing may wait on
        # this client again (the refusal's drain, gunicorn's skip to the next
        # request), and the connection is closed after the 408.
        if self._tripped:
            raise SlowRequestBody("the request body was already too slow")

    def _account(self, waited: float, received: int) -> None:
        self._waited += waited
        self._received += received
        if self._waited < self.body_rate_window:
            return
        rate = self._received / self._waited
        if rate < self.min_body_rate:
            self._tripped = True
            raise SlowRequestBody(
                f"the request body arrived at {rate:.0f} bytes/s over {self._waited:.0f} s of "
                f"waiting for it, below the server's minimum of {self.min_body_rate:.0f} bytes/s"
            )
        self._waited, self._received = 0.0, 0


class SlowClientSafeWorker(gthread.ThreadWorker):  # type: ignore[misc]
    """gthread, with request heads gathered off-thread and per-operation I/O timeouts."""

    header_timeout: float = 15.0
    io_timeout: float = 60.0
    max_uploads: int = 6
    min_body_rate: float = 0.0
    body_rate_window: float = 20.0

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        timed = TimedSocket(
            client_sock.family, client_sock.type, client_sock.proto, fileno=client_sock.detach()
        )
        timed.io_timeout = self.io_timeout
        timed.min_body_rate = self.min_body_rate
        timed.body_rate_window = self.body_rate_window
        timed.setblocking(True)
        self.nr_conns += 1
        conn = gthread.TConn(self.cfg, timed, client_addr, listener.getsockname())
        self.enqueue_req(conn)

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            # Stopping: close this process's copy of the listening socket, so
            # that once every worker has done so new connections are refused
            # rather than queued in a backlog nobody will accept from.
            for listener in self.sockets:
                listener.close()

    def handle(self, conn: Any) -> Any:
        if not conn.is_http2:
            verdict = self._gather_head(conn)
            if verdict is not True:
                return verdict
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Serve one request; one with a body only while an upload slot is free."""
        if not has_body(req.headers):
            return super().handle_request(req, conn)
        slots = self._upload_slots()
        if not slots.enter():
            self.log.info("503 to %s: %d uploads in progress", _peer(conn), slots.slots)
            # Answered without reading the body, closed here rather than after
            # draining a body that may be trickling in.
            _refuse_and_close(conn.sock, answer=refusal(slots.slots))
            return False
        install_direct_body(req)
        metered = isinstance(conn.sock, TimedSocket)  # not once TLS has wrapped it
        if metered:
            conn.sock.meter_body(True)
        try:
            return super().handle_request(req, conn)
        finally:
            slots.leave()
            if metered:
                conn.sock.meter_body(False)

    def _upload_slots(self) -> UploadSlots:
        found: UploadSlots | None = getattr(self, "_mint_upload_slots", None)
        if found is None:
            # Made on first use (under the GIL, by the first upload's thread at
            # the latest; two threads racing would at worst make it twice at once).
            found = UploadSlots(upload_slots(self.max_uploads, self.cfg.threads))
            self._mint_upload_slots = found
        return found

    def _gather_head(self, conn: Any) -> Any:
        """True when the next request head is complete; ``_DEFER`` or False otherwise."""
        if not conn.initialized:
            if not conn.data_ready and not conn.wait_for_data(FIRST_BYTES_WAIT):
                conn.mint_head_started = getattr(conn, "mint_head_started", time.monotonic())
                return gthread._DEFER
            conn.init()
        unreader = conn.parser.unreader
        held = unreader.take_buffered()
        closed = False
        conn.sock.setblocking(False)
        try:
            while not _complete(held) and len(held) < MAX_HEAD_BYTES:
                try:
                    chunk = conn.sock.recv(MAX_HEAD_BYTES)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                held += chunk
        finally:
            conn.sock.setblocking(True)
        unreader.unread(held)
        if closed or _complete(held) or len(held) >= MAX_HEAD_BYTES:
            # EOF and refusals are the parser's to answer; a complete head is served.
            conn.mint_head_started = None
            return not (closed and not held)
        started = getattr(conn, "mint_head_started", None) or time.monotonic()
        conn.mint_head_started = started
        if time.monotonic() - started > self.header_timeout:
            self.log.info(
                "closing connection from %s: request head not complete after %.0f s",
                _peer(conn),
                self.header_timeout,
            )
            _refuse_and_close(conn.sock)
            return False
        return gthread._DEFER


def _refuse_and_close(sock: socket.socket, *, answer: bytes = _TIMEOUT_RESPONSE) -> None:
    """``answer`` (a 408 by default) if the client can take it at once, then close
    without lingering.

    gunicorn's graceful close drains the client for up to two seconds on the
    worker's event loop; for a client that is trickling bytes that would
    stall every other connection of the worker.
    """
    try:
        sock.setblocking(False)
        sock.send(answer)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        sock.close()


def _complete(head: bytes) -> bool:
    stripped = head.lstrip(b"\r\n")
    return any(end in stripped for end in _HEAD_ENDS)


def _peer(conn: Any) -> str:
    client = conn.client
    if isinstance(client, tuple) and len(client) >= 2:
        return f"{client[0]}:{client[1]}"
    return str(client)


def configured(options: ServingOptions) -> type[SlowClientSafeWorker]:
    """A worker class carrying this server's timeouts, body rate and upload cap
    (gunicorn instantiates the class)."""
    return type(
        "SlowClientSafeWorker",
        (SlowClientSafeWorker,),
        {
            "header_timeout": options.header_timeout,
            "io_timeout": options.io_timeout,
            "max_uploads": options.max_uploads,
            "min_body_rate": options.min_body_rate,
            "body_rate_window": options.body_rate_window,
        },
    )
