"""DirectBody: gunicorn's request body with a one-copy ``readinto``.

Parsed by gunicorn's own request parser over a real socket pair, so the
framing (lengths, chunks, extensions, trailers, pipelined requests after the
body) is gunicorn's and what is checked here is that reading through
``readinto`` returns the same bytes and leaves the connection where
gunicorn's own reads would.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from mintstore.serving.request_body import DirectBody, install

BODY = bytes(range(256)) * 41 + b"tail"  # 10,500 bytes, every byte value
NEXT_REQUEST = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
CHUNKED = b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    server.settimeout(10)
    yield server, client
    server.close()
    client.close()


def _send(client: socket.socket, data: bytes) -> threading.Thread:
    """Send from a thread in small writes, so reads see the bytes arrive in pieces."""

    def run() -> None:
        for start in range(0, len(data), 1500):
            client.sendall(data[start : start + 1500])

    sender = threading.Thread(target=run)
    sender.start()
    return sender


def _requests(server: socket.socket) -> Any:
    return RequestParser(Config(), server, ("127.0.0.1", 1))


def _first(
    pair: tuple[socket.socket, socket.socket], data: bytes
) -> tuple[Any, Any, threading.Thread]:
    """Send ``data``; the parser, its first request (with a DirectBody) and the sender."""
    server, client = pair
    sender = _send(client, data)
    requests = _requests(server)
    request = next(requests)
    install(request)
    return requests, request, sender


def _read_all(body: DirectBody, size: int) -> bytes:
    buffer = bytearray(size)
    out = bytearray()
    while count := body.readinto(buffer):
        out += buffer[:count]
    return bytes(out)


def _chunked(data: bytes, sizes: list[int]) -> bytes:
    framed = b""
    start = 0
    for number, size in enumerate(sizes):
        piece = data[start : start + size]
        start += size
        extension = b";name=value" if number % 2 else b""
        framed += b"%x%s\r\n%s\r\n" % (len(piece), extension, piece)
    assert start == len(data)
    return framed + b"0\r\nX-Checksum: 1\r\n\r\n"


@pytest.mark.parametrize("buffer_size", [7, 1000, 65536])
def test_a_body_of_known_length_reads_whole_and_the_next_request_follows(
    pair: tuple[socket.socket, socket.socket], buffer_size: int
) -> None:
    head = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    requests, request, sender = _first(pair, head + BODY + NEXT_REQUEST)
    assert isinstance(request.body, DirectBody)
    assert _read_all(request.body, buffer_size) == BODY
    assert next(requests).path == "/next"
    sender.join()


@pytest.mark.parametrize("buffer_size", [5, 700, 65536])
def test_a_chunked_body_reads_whole_with_its_trailers_and_the_next_request_follows(
    pair: tuple[socket.socket, socket.socket], buffer_size: int
) -> None:
    framed = _chunked(BODY, [1, 4000, 6000, 499])
    requests, request, sender = _first(pair, CHUNKED + framed + NEXT_REQUEST)
    assert _read_all(request.body, buffer_size) == BODY
    assert request.trailers == [("X-CHECKSUM", "1")]
    assert next(requests).path == "/next"
    sender.join()


def test_readline_read_and_readinto_mixed_lose_nothing(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    data = b"first line\n" + BODY
    framed = _chunked(data, [3, 5000, len(data) - 5003])
    requests, request, sender = _first(pair, CHUNKED + framed + NEXT_REQUEST)
    body = request.body
    assert body.readline() == b"first line\n"
    start = bytearray(10)
    assert body.readinto(start) == 10  # from what readline left buffered
    middle = body.read(100)
    rest = _read_all(body, 333)
    assert bytes(start) + middle + rest == BODY
    assert next(requests).path == "/next"
    sender.join()


def test_an_unread_body_is_drained_by_gunicorn_before_the_next_request(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    framed = _chunked(BODY, [5000, 5500])
    requests, request, sender = _first(pair, CHUNKED + framed + NEXT_REQUEST)
    assert request.body.readinto(bytearray(100)) == 100
    assert next(requests).path == "/next"  # gunicorn read the other 10,400 bytes
    sender.join()


def test_a_malformed_chunk_fails_the_read_and_marks_the_body_failed(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    _, request, sender = _first(pair, CHUNKED + b"5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n")
    buffer = bytearray(100)
    assert request.body.readinto(buffer) == 5
    with pytest.raises(Exception, match=r"(?i)chunk"):
        request.body.readinto(buffer)
    assert request.body.failed
    sender.join()


def test_a_body_cut_short_ends_early_instead_of_inventing_bytes(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    client.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 40)
    client.shutdown(socket.SHUT_WR)
    request = next(_requests(server))
    install(request)
    assert _read_all(request.body, 64) == b"x" * 40


@pytest.mark.parametrize(
    ("framed", "error"),
    [
        (b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n", "ChunkMissingTerminator"),  # no CRLF after the data
        (b"a\r\nhello", "NoMoreData"),  # the client closed inside a chunk
    ],
)
def test_a_broken_chunk_fails_after_its_data_and_marks_the_body_failed(
    pair: tuple[socket.socket, socket.socket], framed: bytes, error: str
) -> None:
    server, client = pair
    client.sendall(CHUNKED + framed)
    client.shutdown(socket.SHUT_WR)
    request = next(_requests(server))
    install(request)
    buffer = bytearray(100)
    assert request.body.readinto(buffer) == 5
    with pytest.raises(Exception) as raised:
        while request.body.readinto(buffer):
            pass
    assert type(raised.value).__name__ == error
    assert request.body.failed
