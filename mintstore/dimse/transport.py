"""TCP tuning of the gateway's connections: TCP_NODELAY on every one it accepts or
opens, and prompt ACKs on the C-MOVE sub-associations (:func:`prompt_sender`).

A DIMSE message is a command PDU followed by a data set PDU. With Nagle's
algorithm on, the second small write waits for the peer to acknowledge the
first, and the peer delays that acknowledgement (~40 ms on Linux): each
C-FIND response, C-STORE sub-operation or N-EVENT-REPORT then costs 40 ms
of idle time. pynetdicom leaves Nagle on; this handler of EVT_CONN_OPEN
turns it off as soon as the socket exists (halved C-FIND latency here).
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any


def no_delay(event: Any) -> None:
    """EVT_CONN_OPEN handler: disable Nagle's algorithm on the association's socket."""
    transport = getattr(event.assoc.dul, "socket", None)
    raw = getattr(transport, "socket", None)
    if raw is not None:
        with contextlib.suppress(OSError):  # closed meanwhile: nothing to tune
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


#: Linux's TCP_QUICKACK (absent from ``socket`` on other platforms).
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def prompt_sender(event: Any) -> None:
    """EVT_CONN_OPEN handler of an association this gateway opens only to send
    C-STORE requests (a C-MOVE destination): no Nagle, prompt ACKs, and every
    message received left to the call that waits for it.

    dcmtk's storescp writes each C-STORE response as two writes with Nagle on;
    the second waits for this side's ACK of the first, which Linux delays by
    40 ms once the connection looks interactive (strace of storescp: 40-48 ms
    of each ~50 ms sub-operation, for Orthanc's sends as for ours; see
    docs/dimse.md). TCP_QUICKACK does not last, so it is set again after every
    read; setting it also sends the ACK the kernel was holding.

    With prompt ACKs the response arrives within microseconds, and pynetdicom's
    ``send_c_store`` can lose it to the association's reactor thread, which is
    only loosely paused and takes any message off the queue ("unexpected
    C-STORE service message", then a 60 s DIMSE timeout). On this association
    the peer has nothing to ask us, so the reactor's non-blocking reads are
    made to find nothing: responses go only to ``send_c_store``'s blocking wait.
    """
    no_delay(event)
    assoc = event.assoc
    transport = getattr(assoc.dul, "socket", None)
    raw = getattr(transport, "socket", None)
    if raw is None or _QUICKACK is None:
        return
    dimse = assoc.dimse
    take = dimse.get_msg

    def get_msg(block: bool = False) -> Any:
        return take(block=True) if block else (None, None)

    dimse.get_msg = get_msg
    _acknowledge_promptly(transport, raw, _QUICKACK)


def _acknowledge_promptly(transport: Any, raw: socket.socket, option: int) -> None:
    """Wrap the association socket's ``recv`` (pynetdicom's one read path) so
    TCP_QUICKACK is re-armed after each read."""
    read = transport.recv

    def recv(nr_bytes: int) -> bytearray:
        data: bytearray = read(nr_bytes)
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.IPPROTO_TCP, option, 1)
        return data

    with contextlib.suppress(OSError):
        raw.setsockopt(socket.IPPROTO_TCP, option, 1)
    transport.recv = recv
