"""The production front against hostile and broken clients, over raw sockets.

One real ``mintstore serve`` (gunicorn, two workers of two threads, short
timeouts) per module. Each attack is followed by checks that the server is
alive and that nothing was committed.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from mintstore.testing.mint_server import ServerProcess
from mintstore.testing.raw_http import read_answer

LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    store = tmp_path_factory.mktemp("front-store")
    log = tmp_path_factory.mktemp("front-logs") / "server.log"
    options = [
        "--threads", "2", "--header-timeout", "3", "--io-timeout", "2",
        "--max-request-bytes", str(LIMIT),
    ]  # fmt: skip
    with ServerProcess(store.as_uri(), workers=2, options=options, log_path=log) as process:
        yield process


def _address(server: ServerProcess) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _part10() -> tuple[bytes, str]:
    path = str(get_testdata_file("CT_small.dcm"))
    return Path(path).read_bytes(), str(dcmread(path).StudyInstanceUID)


def _status_of(server: ServerProcess, path: str) -> int:
    try:
        with urllib.request.urlopen(server.url + path, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _raw(server: ServerProcess, data: bytes, *, half_close: bool = True) -> bytes:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_answer(sock)


def _status_line(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer else 0


def test_two_requests_share_one_kept_alive_connection(server: ServerProcess) -> None:
    connection = http.client.HTTPConnection(*_address(server), timeout=5)
    connection.request("GET", "/healthz")
    first = connection.getresponse()
    first.read()
    assert first.status == 200 and first.getheader("Connection", "").lower() != "close"
    sock = connection.sock
    local = sock.getsockname()
    connection.request("GET", "/studies")
    second = connection.getresponse()
    second.read()
    assert second.status == 200
    assert connection.sock is sock and sock.getsockname() == local
    connection.close()


def test_slow_header_clients_do_not_starve_the_liveness_probe(server: ServerProcess) -> None:
    """16 connections sending one header byte every 2 s (four times the threads there are)."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    stop = threading.Event()
    closed_by_server: list[bool] = []

    def slow_client() -> None:
        with socket.create_connection(_address(server), timeout=30) as sock:
            for byte in head:
                if stop.is_set():
                    return
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    closed_by_server.append(True)
                    return
                if stop.wait(2.0):
                    return

    attackers = [threading.Thread(target=slow_client) for _ in range(16)]
    for attacker in attackers:
        attacker.start()
    try:
        time.sleep(1.0)
        probes: list[float] = []
        deadline = time.monotonic() + 9
        while time.monotonic() < deadline:
            started = time.monotonic()
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                assert response.status == 200
            probes.append(time.monotonic() - started)
            time.sleep(0.3)
        assert len(probes) >= 10 and max(probes) < 1.0, probes
    finally:
        stop.set()
        for attacker in attackers:
            attacker.join()
    # The heads were not complete after 3 s: the server cut the connections.
    assert len(closed_by_server) >= 12
    assert server.process.poll() is None


def test_a_short_body_then_half_close_commits_nothing(server: ServerProcess) -> None:
    body, study_uid = _part10()
    head = (
        b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    answer = _raw(server, head + body[: len(body) // 2])
    assert not answer or 400 <= _status_line(answer) < 500, answer[:300]
    assert _status_of(server, f"/studies/{study_uid}") == 404


def test_a_client_that_gives_up_commits_nothing(server: ServerProcess) -> None:
    body, study_uid = _part10()
    head = (
        b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(head + body[: len(body) - 100])
        time.sleep(3.0)  # past --io-timeout: the server stops waiting
    time.sleep(0.5)
    assert _status_of(server, f"/studies/{study_uid}") == 404
    # The whole body, sent properly, is stored: the refusal was about the cut.
    complete = _raw(server, head + body)
    assert _status_line(complete) in (200, 201), complete[:300]
    assert _status_of(server, f"/studies/{study_uid}") == 200


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 5\r\nContent-Length: 5\r\n",
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: 5, 6\r\n",
    ],
    ids=["duplicate-content-length", "cl-and-te", "list-content-length"],
)
def test_ambiguous_framing_is_refused_with_400(server: ServerProcess, framing: bytes) -> None:
    answer = _raw(
        server,
        b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
        + framing
        + b"\r\n0\r\n\r\n",
    )
    assert _status_line(answer) == 400, answer[:300]
    assert _status_of(server, "/healthz") == 200


def test_too_large_is_refused_before_100_continue(server: ServerProcess) -> None:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(
            b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
            b"Expect: 100-continue\r\nContent-Length: " + str(LIMIT * 2).encode() + b"\r\n\r\n"
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"100 Continue" not in answer


def test_100_continue_is_sent_when_the_body_is_wanted(server: ServerProcess) -> None:
    body, _ = _part10()
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(
            b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim[:200]
        sock.sendall(body)
        answer = read_answer(sock)
    assert _status_line(answer) in (200, 201), answer[:300]


def test_a_chunked_body_over_the_limit_answers_413(server: ServerProcess) -> None:
    chunk = b"x" * 65536
    framed = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * (LIMIT // len(chunk) + 4) + b"0\r\n\r\n"
    answer = _raw(
        server,
        b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + framed,
    )
    assert _status_line(answer) == 413, answer[:300]
    assert _status_of(server, "/healthz") == 200


def test_a_multipart_body_short_of_its_length_commits_nothing(server: ServerProcess) -> None:
    """Complete parts and closing delimiter, yet fewer bytes than Content-Length said."""
    body, study_uid = _part10()
    boundary = b"cut-short"
    multipart = (
        b"--" + boundary + b"\r\nContent-Type: application/dicom\r\n\r\n" + body
        + b"\r\n--" + boundary + b"--\r\n"
    )  # fmt: skip
    head = (
        b"POST /studies/create HTTP/1.1\r\nHost: x\r\n"
        b'Content-Type: multipart/related; type="application/dicom"; boundary=' + boundary + b"\r\n"
        b"Content-Length: " + str(len(multipart) + 500).encode() + b"\r\n\r\n"
    )
    # A fresh UID so an earlier test's upload of the same file does not answer for this one.
    marked = body.replace(study_uid.encode(), study_uid[:-1].encode() + b"9", 1)
    answer = _raw(server, head + multipart.replace(body, marked))
    assert not answer or 400 <= _status_line(answer) < 500, answer[:300]
    assert _status_of(server, f"/studies/{study_uid[:-1]}9") == 404


def test_an_invalid_chunk_size_is_a_400(server: ServerProcess) -> None:
    answer = _raw(
        server,
        b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    assert _status_line(answer) == 400, answer[:300]
    assert _status_of(server, "/healthz") == 200
