"""Raw-socket HTTP for tests that must send what no well-behaved client would."""

from __future__ import annotations

import socket


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection.

    A reset after (or instead of) the answer ends it too: a server that
    refuses a body closes without reading the rest, which a client still
    sending sees as a reset.
    """
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    return answer
