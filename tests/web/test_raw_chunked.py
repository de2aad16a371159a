"""A hostile chunked upload against a real server process must not bring it down.

The reproduction of issue 14's first finding: ``POST /studies/create`` with a
chunk-size line of ``ffffffffffffffff``, a few bytes, then the client idles and
closes. With the process-wide allocator tuning the server used to apply at
start-up, the single-process server died with SIGSEGV on this request; the
server must stay up and every probe after the attack must be answered.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from mintstore.testing.mint_server import ServerProcess


def _attack(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=1.5) as sock:
        sock.sendall(
            b"POST /studies/create HTTP/1.1\r\n"
            b"Host: x\r\n"
            b"Content-Type: application/dicom\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b"ffffffffffffffff\r\n"
            b"DICM-not-really"
        )
        time.sleep(0.2)
        try:
            # The server may already have answered and closed (a 4xx): fine.
            sock.shutdown(socket.SHUT_WR)
            return sock.recv(4096)
        except OSError:
            return b""


def test_huge_chunk_size_leaves_the_server_up(tmp_path: Path) -> None:
    with ServerProcess(f"file://{tmp_path / 'store'}") as server:
        parts = urlsplit(server.url)
        assert parts.hostname is not None and parts.port is not None
        for _ in range(4):
            answer = _attack(parts.hostname, parts.port)
            # Whatever the server says, it must not be a 2xx or a 5xx.
            if answer:
                status = int(answer.split(b" ", 2)[1])
                assert 400 <= status < 500, answer[:200]
        assert server.process.poll() is None, "the server process died"
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(server.url + "/studies", timeout=5) as response:
            assert response.status == 200
