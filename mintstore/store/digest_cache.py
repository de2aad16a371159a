"""A bounded in-process cache of immutable things named by a content digest.

A blob never changes once written, so whatever is decoded from it (a
metadata document, an item table) is valid forever under the blob's digest:
no invalidation is ever needed, only a memory bound. Entries are weighed by
a caller-supplied estimate and evicted least-recently-used first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class DigestCache(Generic[T]):
    """Least-recently-used values by digest, at most ``capacity`` weight in total."""

    def __init__(self, capacity: int) -> None:
        self._capacity = max(0, capacity)
        self._weight = 0
        self._entries: OrderedDict[str, tuple[T, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> T | None:
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            self._entries.move_to_end(digest)
            return found[0]

    def put(self, digest: str, value: T, weight: int) -> None:
        """Remember ``value``; one entry heavier than a quarter of the bound is not kept."""
        if weight > self._capacity // 4:
            return
        with self._lock:
            if digest in self._entries:
                return
            self._entries[digest] = (value, weight)
            self._weight += weight
            while self._weight > self._capacity:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._weight -= evicted

    def get_or_load(self, digest: str, load: Callable[[], tuple[T, int]]) -> T:
        """The cached value, else ``load()`` (run outside the lock) -> (value, weight)."""
        cached = self.get(digest)
        if cached is not None:
            return cached
        value, weight = load()
        self.put(digest, value, weight)
        return value

    @property
    def weight(self) -> int:
        with self._lock:
            return self._weight
