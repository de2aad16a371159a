"""The association socket's tuning: no Nagle, and TCP_QUICKACK re-armed after each read.

Why it matters (mintstore/dimse/transport.py): dcmtk's storescp writes each
C-STORE response in two pieces with Nagle on, so a sender that delays its
ACK waits 40 ms per sub-operation. These checks read the options back from
the kernel on a real loopback connection.
"""

from __future__ import annotations

import socket
import sys
from types import SimpleNamespace

import pytest

from mintstore.dimse.transport import no_delay


class _Transport:
    """pynetdicom's AssociationSocket as far as the handler uses it: ``socket`` and ``recv``."""

    def __init__(self, raw: socket.socket) -> None:
        self.socket = raw

    def recv(self, nr_bytes: int) -> bytearray:
        return bytearray(self.socket.recv(nr_bytes))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_QUICKACK is Linux's")
def test_reads_leave_quickack_armed_and_nagle_off() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        transport = _Transport(client)
        no_delay(SimpleNamespace(assoc=SimpleNamespace(dul=SimpleNamespace(socket=transport))))
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        for round_number in range(3):
            # Interactive traffic both ways is what puts Linux into delayed-ACK mode.
            client.sendall(b"request")
            server.recv(16)
            server.sendall(b"\x04\x00" + bytes([round_number]))
            assert transport.recv(3) == b"\x04\x00" + bytes([round_number])
            assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1
    finally:
        for each in (client, server, listener):
            each.close()


def test_a_closed_transport_is_left_alone() -> None:
    no_delay(SimpleNamespace(assoc=SimpleNamespace(dul=SimpleNamespace(socket=None))))
