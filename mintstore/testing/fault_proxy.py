"""An HTTP proxy on 127.0.0.1 that fails a share of the requests it forwards.

Put in front of an object-store server (moto), it makes the failures a real
network and a real service produce, one request at a time, so the engine's
answers can be checked against what actually happened:

* ``error``: answered 500/503 by the proxy, nothing forwarded;
* ``reset_before``: the connection is reset before anything is forwarded;
* ``reset_after``: forwarded and answered upstream (the write happened), then
  the client's connection is reset: the answer is lost;
* ``delay``: held past the client's timeout, then forwarded anyway (the
  client has given up and retried; the original may still land later).

The proxy speaks just enough HTTP/1.1 to do that per request on keep-alive
connections: request line, headers, a body by ``Content-Length`` or chunked,
``Expect: 100-continue`` answered locally. Every request is counted, faults
by kind; ``rate`` is the share of requests that get a fault, chosen by a
seeded random generator.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import IO

FAULT_KINDS = ("error", "reset_before", "reset_after", "delay")


@dataclass(frozen=True)
class FaultPlan:
    """How often each kind of fault happens (shares of all requests)."""

    error: float = 0.04
    reset_before: float = 0.03
    reset_after: float = 0.03
    delay: float = 0.01
    #: How long a delayed request is held before it is forwarded (set it
    #: past the client's read timeout).
    delay_seconds: float = 2.5

    @property
    def rate(self) -> float:
        return self.error + self.reset_before + self.reset_after + self.delay


class _Request:
    """One parsed request: what is forwarded upstream."""

    def __init__(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes):
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body


class _Reset(Exception):
    """Reset the client's connection now."""


def _read_request(reader: IO[bytes], writer: socket.socket) -> _Request | None:
    line = reader.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = reader.readline(65537)
    if not line:
        return None
    method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: list[tuple[str, str]] = []
    while True:
        raw = reader.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    lowered = {name.lower(): value for name, value in headers}
    if lowered.get("expect", "").lower() == "100-continue":
        writer.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in lowered.get("transfer-encoding", "").lower():
        body = _read_chunked(reader)
    else:
        length = int(lowered.get("content-length", "0") or 0)
        body = reader.read(length) if length else b""
    forwarded = [
        (name, value)
        for name, value in headers
        if name.lower() not in ("expect", "transfer-encoding", "content-length", "connection")
    ]
    if body or method in ("PUT", "POST"):
        forwarded.append(("Content-Length", str(len(body))))
    return _Request(method, target, forwarded, body)


def _read_chunked(reader: IO[bytes]) -> bytes:
    pieces: list[bytes] = []
    while True:
        size_line = reader.readline(65537).split(b";", 1)[0].strip()
        size = int(size_line or b"0", 16)
        if size == 0:
            while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(pieces)
        pieces.append(reader.read(size))
        reader.readline(65537)


def _reset(sock: socket.socket) -> None:
    """Close with RST (linger 0), as a failing peer or middlebox would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultProxy:
    """A threaded proxy from ``127.0.0.1:<port>`` to ``upstream`` (``http://host:port``)."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None, *, seed: int = 15) -> None:
        host_port = upstream.removeprefix("http://").rstrip("/")
        host, _, port = host_port.partition(":")
        self._upstream = (host, int(port or 80))
        self.plan = plan if plan is not None else FaultPlan()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.requests = 0
        self.faults: Counter[str] = Counter()
        self.by_method: Counter[str] = Counter()
        #: When False, every request is forwarded untouched (for set-up and checks).
        self.enabled = True
        proxy = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve_connection(self.request)

        class _Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- per connection -----------------------------------------------------------

    def _choose(self, method: str) -> str | None:
        plan = self.plan
        with self._lock:
            self.requests += 1
            self.by_method[method] += 1
            if not self.enabled:
                return None
            draw = self._random.random()
            for kind in FAULT_KINDS:
                share = float(getattr(plan, kind))
                if draw < share:
                    self.faults[kind] += 1
                    return kind
                draw -= share
            return None

    def _serve_connection(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        upstream: http.client.HTTPConnection | None = None
        try:
            while True:
                request = _read_request(reader, sock)
                if request is None:
                    return
                fault = self._choose(request.method)
                if fault == "reset_before":
                    raise _Reset
                if fault == "error":
                    self._answer_error(sock, request)
                    continue
                if fault == "delay":
                    time.sleep(self.plan.delay_seconds)
                if upstream is None:
                    upstream = http.client.HTTPConnection(*self._upstream, timeout=120)
                try:
                    answer = self._forward(upstream, request)
                except (OSError, http.client.HTTPException):
                    upstream.close()
                    upstream = None
                    raise _Reset from None
                if fault == "reset_after":
                    raise _Reset
                sock.sendall(answer)
        except _Reset:
            reader.close()
            _reset(sock)
        except (OSError, ValueError):
            pass
        finally:
            if upstream is not None:
                upstream.close()

    def _forward(self, upstream: http.client.HTTPConnection, request: _Request) -> bytes:
        upstream.putrequest(
            request.method, request.target, skip_host=True, skip_accept_encoding=True
        )
        for name, value in request.headers:
            upstream.putheader(name, value)
        upstream.endheaders(request.body or None)
        response = upstream.getresponse()
        body = response.read()
        lines = [f"HTTP/1.1 {response.status} {response.reason}"]
        for name, value in response.getheaders():
            if name.lower() in ("transfer-encoding", "connection", "content-length"):
                continue
            lines.append(f"{name}: {value}")
        length = response.getheader("Content-Length") if request.method == "HEAD" else None
        lines.append(f"Content-Length: {length if length is not None else len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (b"" if request.method == "HEAD" else body)

    def _answer_error(self, sock: socket.socket, request: _Request) -> None:
        with self._lock:
            status = self._random.choice((500, 503))
        code = "InternalError" if status == 500 else "SlowDown"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>injected by the fault proxy</Message></Error>"
        ).encode()
        reason = "Internal Server Error" if status == 500 else "Service Unavailable"
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {0 if request.method == 'HEAD' else len(body)}\r\n\r\n"
        ).encode()
        sock.sendall(head + (b"" if request.method == "HEAD" else body))

    def report(self) -> dict[str, int]:
        """Requests seen and faults injected, by kind."""
        with self._lock:
            return {"requests": self.requests, **{k: self.faults[k] for k in FAULT_KINDS}}
