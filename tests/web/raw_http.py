"""Reading a response's header lines off the socket (http.client folds duplicates)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def raw_header_lines(url: str, path: str, name: str) -> int:
    """How many ``name:`` header lines a GET of ``path`` is answered with."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return sum(1 for line in head if line.lower().startswith(name.lower() + ":"))
