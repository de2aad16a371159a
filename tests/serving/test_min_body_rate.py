"""A request body trickling in below ``--min-body-rate`` ends with a 408, and nothing is stored.

``io_timeout`` alone cannot stop such a client: every byte restarts it. The
worker sums the time it waits in ``recv`` and the bytes it gets while a body is
read; after ``--body-rate-window`` seconds of waiting, less than the minimum
rate ends the request. Only waiting counts: a server that reads late (bytes
already queued) never blames its client, which the socket-level test shows.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mintstore.client import MintClient
from mintstore.errors import SlowRequestBody
from mintstore.serving.worker import TimedSocket
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess
from mintstore.testing.raw_http import read_answer

MIN_RATE = 4000  # bytes/s
WINDOW = 1.0  # seconds of waiting


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    store = tmp_path_factory.mktemp("rate-store")
    options = ["--min-body-rate", str(MIN_RATE), "--body-rate-window", str(WINDOW)]
    with ServerProcess(store.as_uri(), options=options) as process:
        yield process


def _address(server: ServerProcess) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _post(server: ServerProcess, body: bytes, piece: int, pause: float) -> tuple[bytes, float]:
    """POST ``body`` as application/dicom, ``piece`` bytes every ``pause`` seconds;
    the raw answer and how long it took."""
    head = (
        b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    )
    started = time.monotonic()
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        sent = 0
        while sent < len(body):
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # answered before the body was complete
            except BlockingIOError:
                pass
            try:
                sent += sock.send(body[sent : sent + piece])
            except OSError:
                break
            time.sleep(pause)
        sock.settimeout(30)
        answer = read_answer(sock)
    return answer, time.monotonic() - started


def test_a_trickling_body_gets_408_and_nothing_is_stored(
    server: ServerProcess, tmp_path: Path
) -> None:
    series = write_ct_series(tmp_path / "ct", 1, rows=64, columns=64)
    body = series.paths[0].read_bytes()
    # 20 bytes every 0.05 s: ~400 bytes/s, a tenth of the minimum.
    answer, seconds = _post(server, body, 20, 0.05)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"bytes/s" in answer  # the message says why
    assert seconds < 10, seconds  # cut off after about one window of waiting, not io_timeout
    client = MintClient(server.url)
    assert list(client.search(studyInstanceUID=series.study_instance_uid)) == []
    client.close()


def test_a_body_above_the_minimum_rate_is_stored(server: ServerProcess, tmp_path: Path) -> None:
    series = write_ct_series(tmp_path / "ct", 1, rows=64, columns=64)
    body = series.paths[0].read_bytes()
    # 2,000 bytes every 0.05 s: ~40,000 bytes/s, ten times the minimum, for ~0.5 s.
    answer, _ = _post(server, body, 2000, 0.05)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]


def test_only_time_spent_waiting_for_the_client_counts() -> None:
    # The server reads late (the bytes were queued long before): however long
    # that took, the client was not slow. A client that makes the server wait
    # for a trickle is.
    left, right = socket.socketpair()
    meter = TimedSocket(left.family, left.type, left.proto, fileno=left.detach())
    try:
        meter.io_timeout, meter.min_body_rate, meter.body_rate_window = 5.0, 10_000.0, 0.2
        meter.setblocking(True)
        meter.meter_body(True)
        right.sendall(b"x" * 50_000)
        for _ in range(5):
            time.sleep(0.1)  # busy elsewhere: 0.5 s of wall time, no waiting in recv
            assert meter.recv(10_000)

        def trickle() -> None:  # one byte 0.05 s after each read began: 20 bytes/s
            for _ in range(20):
                time.sleep(0.05)
                right.send(b"y")

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        with pytest.raises(SlowRequestBody):
            for _ in range(20):
                meter.recv(10)
        sender.join()
        # Tripped: every later read fails at once instead of waiting again.
        started = time.monotonic()
        with pytest.raises(SlowRequestBody):
            meter.recv(10)
        assert time.monotonic() - started < 0.05
    finally:
        meter.close()
        right.close()
