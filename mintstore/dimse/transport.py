"""TCP_NODELAY on every connection the gateway accepts or opens.

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
