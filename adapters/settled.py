"""Create-if-absent whose outcome holds, for a backend whose create is not atomic.

The engine arbitrates with ``put(mode=CREATE)``: whoever creates a commit
record, a change-log entry, its marker or a lease first has won. Swift checks
``If-None-Match: *`` when a PUT starts and writes when it ends, so a
competitor whose PUT passed the check before ours landed writes after us and
silently replaces our object: both writers believe they won. The Swift
adapter already tags each create and reads it back; this wrapper, applied by
the registry to every ``swift://`` store, closes the rest of the window the
way the backend allows: a winning create waits, then reads the object back,
and if the bytes are no longer its own, a later write replaced it and it
lost after all (``AlreadyExists``, which callers handle like any lost create).

A competitor can only land within about the time its own write takes after
passing the check, and writes of these small objects take about as long as
ours did, so the wait is ``factor`` times our own create's duration, never
less than ``floor``: it grows by itself when the store is slow under load.
This closes the window in practice; it cannot be closed in theory with the
primitives Swift offers (docs/storage.md says so).

Only bytes-like creates up to ``max_bytes`` are settled: the objects that
arbitrate are small documents whose bytes are unique to their writer (they
carry a version, token or digest of its own). A larger or streamed create is
content (a blob) that every competitor writes identically, where a double
win is harmless. URL options: ``settle_floor_ms`` (200), ``settle_factor`` (4).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from mintstore.errors import AlreadyExists, ConfigurationError, NotFound

from .base import ObjectInfo, ObjectStore, PutData, PutMode
from .wrapped import WrappedStore

#: Creates larger than this are content, not arbitration (see the module docstring).
MAX_SETTLED_BYTES = 64 * 1024


@dataclass(frozen=True)
class Settle:
    """How long a create waits before it trusts its win."""

    floor: timedelta = timedelta(milliseconds=200)
    factor: float = 4.0

    def wait_for(self, create_seconds: float) -> float:
        """Seconds to wait after a create that took ``create_seconds``."""
        return max(self.floor.total_seconds(), self.factor * create_seconds)

    @classmethod
    def from_options(cls, options: Mapping[str, str], default: Settle | None = None) -> Settle:
        """``settle_floor_ms`` and ``settle_factor`` of a store URL (else ``default``)."""
        base = default if default is not None else cls()
        try:
            floor = float(options.get("settle_floor_ms", base.floor.total_seconds() * 1000))
            factor = float(options.get("settle_factor", base.factor))
        except ValueError as exc:
            raise ConfigurationError(f"invalid settle option in the store URL: {exc}") from None
        if floor < 0 or factor < 0:
            raise ConfigurationError("settle_floor_ms and settle_factor must be >= 0")
        return cls(timedelta(milliseconds=floor), factor)


class SettledCreates(WrappedStore):
    """Wraps a store whose CREATE can be overtaken; everything else passes through."""

    def __init__(
        self,
        inner: ObjectStore,
        settle: Settle | None = None,
        *,
        max_bytes: int = MAX_SETTLED_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(inner)
        self.settle = settle if settle is not None else Settle()
        self._max_bytes = max_bytes
        self._sleep = sleep
        self._clock = clock

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        if mode is not PutMode.CREATE or not isinstance(data, bytes | bytearray | memoryview):
            return self.inner.put(key, data, mode=mode)
        mine = bytes(data)
        if len(mine) > self._max_bytes:
            return self.inner.put(key, data, mode=mode)
        started = self._clock()
        lost_answer: AlreadyExists | None = None
        try:
            info = self.inner.put(key, mine, mode=mode)
        except AlreadyExists as exc:
            if not exc.identical:
                raise
            # Our own create whose answer was lost (lost_answers): settle it like a win.
            lost_answer, info = exc, None
        self._sleep(self.settle.wait_for(self._clock() - started))
        try:
            stored = self.inner.get_bytes(key)
        except NotFound:
            stored = mine  # deleted since (only leases are ever deleted): our create stood
        if stored != mine:
            raise AlreadyExists("a concurrent create replaced this one after it landed", key=key)
        if lost_answer is not None:
            raise lost_answer
        assert info is not None
        return info
