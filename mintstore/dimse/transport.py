"""TCP tuning of every connection the gateway accepts or opens.

A DIMSE message is a command PDU followed by a data set PDU. With Nagle's
algorithm on, the second small write waits for the peer to acknowledge the
first, and the peer delays that acknowledgement (~40 ms on Linux): each
C-FIND response, C-STORE sub-operation or N-EVENT-REPORT then costs 40 ms
of idle time. pynetdicom leaves Nagle on; this handler of EVT_CONN_OPEN
turns it off as soon as the socket exists (halved C-FIND latency here).

The same stall happens the other way round when the *peer* leaves Nagle on:
dcmtk's storescp writes each C-STORE response as two writes (12 bytes, then
the rest), and the rest waits until this side acknowledges the first piece,
which Linux delays by 40 ms once the connection looks interactive. Measured
with strace: 40-45 ms of a C-MOVE sub-operation's ~50 ms were that wait, for
Orthanc's sends as for ours. Linux has no lasting switch for prompt
acknowledgements (TCP_QUICKACK is reset by the stack), so it is set again
after every read of the association's socket: an acknowledgement then goes
out as soon as data has been read, and the peer's next write follows at once.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

#: Linux's TCP_QUICKACK (absent from ``socket`` on other platforms).
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def no_delay(event: Any) -> None:
    """EVT_CONN_OPEN handler: no Nagle on this side, prompt ACKs to the peer."""
    transport = getattr(event.assoc.dul, "socket", None)
    raw = getattr(transport, "socket", None)
    if raw is None:
        return
    with contextlib.suppress(OSError):  # closed meanwhile: nothing to tune
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if _QUICKACK is not None:
        _acknowledge_promptly(transport, raw, _QUICKACK)


def _acknowledge_promptly(transport: Any, raw: socket.socket, option: int) -> None:
    """Wrap the association socket's ``recv`` (pynetdicom's one read path) so
    TCP_QUICKACK is re-armed after each read: setting it also sends an ACK the
    stack was holding back."""
    read = transport.recv

    def recv(nr_bytes: int) -> bytearray:
        data: bytearray = read(nr_bytes)
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.IPPROTO_TCP, option, 1)
        return data

    with contextlib.suppress(OSError):
        raw.setsockopt(socket.IPPROTO_TCP, option, 1)
    transport.recv = recv
