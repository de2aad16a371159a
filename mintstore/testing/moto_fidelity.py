"""Make moto's S3 conditional writes atomic, as they are on S3.

moto checks ``If-None-Match: *`` and then stores the object as two separate
steps, without a lock (``put_object`` and, with a much wider window since it
joins the parts in between, ``complete_multipart_upload``). Under concurrent
requests several create-if-absent writers all pass the check and all "win",
which real S3 never allows. The conformance suite's 16-thread race exposed
this (8 of 16 winners on the multipart path).

Our tests need the emulator to arbitrate like S3 so that they test the
adapter (does it send the condition? does it map 412 to AlreadyExists?), not
moto's thread-safety. So object-level writes (PUT, POST) in moto are run one
at a time. This is test infrastructure only: both moto modes (``mock_aws``
and ``ThreadedMotoServer``) run in this process, so one patch covers both.
An adapter that omitted the condition would still see every racer win.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_installed = False
_install_lock = threading.Lock()


def serialize_object_writes() -> None:
    """Install the patch once per process (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.s3.responses import S3Response

        original: Callable[..., Any] = S3Response.key_response

        def key_response(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(request, "method", "GET") in ("PUT", "POST"):
                with _lock:
                    return original(self, request, *args, **kwargs)
            return original(self, request, *args, **kwargs)

        S3Response.key_response = key_response  # type: ignore[method-assign]
        _installed = True
