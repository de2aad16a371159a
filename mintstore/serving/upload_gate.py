"""A cap on requests with a body per worker: the excess gets a fast 503, not a thread.

A client that sends its request head at once and then its body one byte every
few seconds holds a request thread for as long as it keeps trickling (every
byte restarts ``io_timeout``). At the defaults (one worker, 8 threads) eight
such clients made ``/healthz`` time out (measured: 1-7 slow bodies, /healthz in
under 6 ms; 8 and more, no answer within 3 s). The worker
(:mod:`mintstore.serving.worker`) lets at most ``max_uploads`` requests with a
body (a Content-Length above zero, or a chunked one) into the application at
once; one more is answered at once with ``503 Service Unavailable``,
``Retry-After`` and ``Connection: close``, without reading its body (so
without ``100 Continue``), and its connection is closed, so the remaining
threads stay free for reads and liveness probes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: Seconds a refused client is told to wait before trying again.
RETRY_AFTER_SECONDS = 5


def has_body(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether a request head announces a body (Content-Length > 0 or chunked)."""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "transfer-encoding" and "chunked" in value.lower():
            return True
        if lowered == "content-length" and value.strip().lstrip("0") not in ("",):
            return True
    return False


def refusal(slots: int) -> bytes:
    """The whole 503 response for an upload beyond the cap."""
    message = (
        f"the server is receiving {slots} uploads already; retry in {RETRY_AFTER_SECONDS} s\n"
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(message)}\r\n"
        f"Retry-After: {RETRY_AFTER_SECONDS}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + message


class UploadSlots:
    """``slots`` requests with a body at once; ``enter`` says whether one more fits."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)

    def enter(self) -> bool:
        return self._free.acquire(blocking=False)

    def leave(self) -> None:
        self._free.release()


def upload_slots(max_uploads: int, threads: int) -> int:
    """The slots a worker gives uploads: ``max_uploads``, but always one thread left over."""
    return max(1, min(max_uploads, threads - 1))
