"""Create-if-absent whose outcome holds, on every backend.

The engine arbitrates with create-if-absent: whoever creates a commit record,
a change-log entry, its marker or a lease first has won. On most backends a
successful CREATE is final. On Swift it is not (``ObjectStore.atomic_create``
is False): a competitor whose PUT passed ``If-None-Match`` before ours landed
writes after us and silently replaces our object, and both writers believe
they won. For a commit record that would lose an acknowledged upload.

So on such a store the winner waits and reads the object back: if the
bytes are no longer its own, a later write replaced it and it lost after all
(``AlreadyExists``, and the caller re-merges or moves on exactly as for any
lost create). A competitor can only land within about the time its own write
takes after passing the check, and writes of these small objects take about
as long as ours did, so the wait is ``factor`` times our own create's
duration, never less than ``floor``: it grows by itself when the store is
slow under load. This closes the window in practice; it cannot be closed in
theory with the primitives Swift offers (docs/storage.md says so).

Content-addressed blobs, manifests and release markers do not need this:
every competitor writes the same bytes, so a double win is harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from mintstore.adapters import ObjectStore
from mintstore.adapters.lost_answers import create_unique
from mintstore.errors import AlreadyExists, NotFound


@dataclass(frozen=True)
class Settle:
    """How long a create on a non-atomic store waits before it trusts its win."""

    floor: timedelta = timedelta(milliseconds=200)
    factor: float = 4.0

    def wait_for(self, create_seconds: float) -> float:
        """Seconds to wait after a create that took ``create_seconds``."""
        return max(self.floor.total_seconds(), self.factor * create_seconds)


def create_exclusive(
    objects: ObjectStore,
    key: str,
    data: bytes,
    settle: Settle,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """CREATE ``key`` with ``data``; raise ``AlreadyExists`` unless this write won for good.

    ``data`` must be unique to this writer (it carries a version, token or
    digest of its own), otherwise a replacement could not be told apart.
    """
    started = clock()
    # Unique data: an AlreadyExists whose object holds exactly our bytes is our
    # own create whose answer was lost (mintstore.adapters.lost_answers).
    create_unique(objects, key, data)
    if objects.atomic_create:
        return
    sleep(settle.wait_for(clock() - started))
    try:
        stored = objects.get_bytes(key)
    except NotFound:
        return  # deleted since (only leases are ever deleted): our create stood
    if stored != data:
        raise AlreadyExists("a concurrent create replaced this one after it landed", key=key)
