"""Slow request *bodies* cannot starve a server at its defaults (one worker, 8 threads).

Before the upload cap, eight clients that sent a head at once and then one body
byte every second held all eight request threads and ``/healthz`` went
unanswered. Now a worker lets ``max_uploads`` (6) bodies in at once and answers
one more with a fast 503 + Retry-After: twelve trickling clients here, and the
liveness probe, reads and the refusals stay fast, and once the trickling
clients are gone an upload is accepted again.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess

TRICKLERS = 12
HEAD = (
    b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
    b"Content-Length: 1000000\r\n\r\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    store = tmp_path_factory.mktemp("slow-body-store")
    log = tmp_path_factory.mktemp("slow-body-logs") / "server.log"
    with ServerProcess(store.as_uri(), log_path=log) as process:  # the defaults
        yield process


def _address(server: ServerProcess) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _timed_get(server: ServerProcess, path: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(server.url + path, timeout=3) as response:
        assert response.status == 200
        response.read()
    return time.monotonic() - started


def test_trickling_bodies_leave_probes_and_reads_answered(
    server: ServerProcess, tmp_path: Path
) -> None:
    stop = threading.Event()
    answers: list[bytes] = []

    def trickle() -> None:
        with socket.create_connection(_address(server), timeout=30) as sock:
            sock.sendall(HEAD)
            sock.setblocking(False)
            while not stop.wait(1.0):
                try:
                    answers.append(sock.recv(4096))  # a refused one has its 503 here
                    return
                except BlockingIOError:
                    pass
                except OSError:
                    return
                try:
                    sock.send(b"x")
                except OSError:
                    return

    clients = [threading.Thread(target=trickle) for _ in range(TRICKLERS)]
    for client in clients:
        client.start()
        time.sleep(0.05)
    try:
        time.sleep(1.5)
        probes = [_timed_get(server, "/healthz") for _ in range(5)]
        reads = [_timed_get(server, "/studies") for _ in range(3)]
        assert max(probes) < 1.0 and max(reads) < 2.0, (probes, reads)
        # One more upload is refused at once, with a time to come back.
        with socket.create_connection(_address(server), timeout=5) as sock:
            started = time.monotonic()
            sock.sendall(HEAD)
            answer = sock.recv(4096)
            assert time.monotonic() - started < 1.0
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
        assert b"Retry-After: " in answer and b"Connection: close" in answer
        time.sleep(1.5)
        # six trickling uploads hold their slots; the other six were refused
        refused = [a for a in answers if a.startswith(b"HTTP/1.1 503 ")]
        assert len(refused) == TRICKLERS - 6, [a[:40] for a in answers]
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert server.process.poll() is None
    # The slots come back when the trickling clients go (their requests fail):
    series = write_ct_series(tmp_path, 1, rows=8, columns=8, seed=9)
    body = Path(series.paths[0]).read_bytes()
    deadline = time.monotonic() + 10
    status = 0
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            server.url + "/studies/create",
            data=body,
            headers={"Content-Type": "application/dicom"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
                break
        except urllib.error.HTTPError as error:
            status = error.code
            assert status == 503
            time.sleep(0.5)
    assert status == 201
