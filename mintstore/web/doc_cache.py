"""A bounded in-process cache of encoded metadata documents.

A committed version never changes, so ``(study, version, document, variant)``
names its bytes forever: a viewer opening a study asks for the same
``metadata.gpb`` again and again, and re-decoding and re-encoding a large
study each time would dominate its time to first image. The cache lives in
``app.extensions`` (one per app, no global state) and is bounded in bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

CacheKey = tuple[str, int, str, str, bool]


class DocumentCache:
    """Least-recently-used bytes, at most ``capacity`` bytes in total."""

    def __init__(self, capacity: int = 64 * 1024**2) -> None:
        self._capacity = capacity
        self._size = 0
        self._entries: OrderedDict[CacheKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: CacheKey, build: Callable[[], bytes]) -> bytes:
        """The cached bytes for ``key``, building (outside the lock) on a miss."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        data = build()
        if len(data) > self._capacity // 4:
            return data  # too big to be worth evicting everything else for
        with self._lock:
            if key not in self._entries:
                self._entries[key] = data
                self._size += len(data)
                while self._size > self._capacity:
                    _, evicted = self._entries.popitem(last=False)
                    self._size -= len(evicted)
        return data
