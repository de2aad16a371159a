"""The C-MOVE sub-association's tuning (mintstore/dimse/transport.prompt_sender).

Why: dcmtk's storescp writes each C-STORE response in two pieces with Nagle
on, so a sender that delays its ACK waits 40 ms per sub-operation; and once
ACKs are prompt, pynetdicom's reactor thread must not take the response that
``send_c_store`` waits for. Options are read back from the kernel on a real
loopback connection; the message queue is pynetdicom's own provider.
"""

from __future__ import annotations

import socket
import sys
from types import SimpleNamespace

import pytest
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_primitives import C_STORE

from mintstore.dimse.transport import prompt_sender

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="TCP_QUICKACK is Linux's"
)


class _Transport:
    """pynetdicom's AssociationSocket as far as the handler uses it: ``socket`` and ``recv``."""

    def __init__(self, raw: socket.socket) -> None:
        self.socket = raw

    def recv(self, nr_bytes: int) -> bytearray:
        return bytearray(self.socket.recv(nr_bytes))


def test_reads_re_arm_quickack_and_only_a_blocking_wait_gets_messages() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        transport = _Transport(client)
        dimse = DIMSEServiceProvider(SimpleNamespace(dimse_timeout=5))  # type: ignore[arg-type]
        assoc = SimpleNamespace(dul=SimpleNamespace(socket=transport), dimse=dimse)
        prompt_sender(SimpleNamespace(assoc=assoc))
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        for round_number in range(3):
            # Traffic both ways is what puts Linux into delayed-ACK mode.
            client.sendall(b"request")
            server.recv(16)
            server.sendall(b"\x04\x00" + bytes([round_number]))
            assert transport.recv(3) == b"\x04\x00" + bytes([round_number])
            assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1

        response = (1, C_STORE())
        dimse.msg_queue.put(response)
        assert dimse.get_msg(block=False) == (None, None)  # the reactor's poll
        assert dimse.get_msg(block=True) == response  # send_c_store's wait
    finally:
        for each in (client, server, listener):
            each.close()


def test_a_closed_transport_is_left_alone() -> None:
    dimse = SimpleNamespace(get_msg=lambda block=False: ("kept", block))
    prompt_sender(
        SimpleNamespace(assoc=SimpleNamespace(dul=SimpleNamespace(socket=None), dimse=dimse))
    )
    assert dimse.get_msg(block=False) == ("kept", False)
