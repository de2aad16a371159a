"""An ObjectStore wrapper that counts requests (benchmarks and request budgets)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from .base import CreateBatch, ObjectInfo, ObjectReader, ObjectStore, OnExisting, PutData, PutMode


class CountingStore(ObjectStore):
    """Counts every operation passed to the wrapped store, by name.

    A listing counts once per call (backends page internally; for the small
    prefixes the engine lists that is one request).
    """

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.url = inner.url
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        self._count(f"put-{mode.value}")
        return self.inner.put(key, data, mode=mode)

    def get(self, key: str) -> ObjectReader:
        self._count("get")
        return self.inner.get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        self._count("get_range")
        return self.inner.get_range(key, start, end)

    def head(self, key: str) -> ObjectInfo:
        self._count("head")
        return self.inner.head(key)

    def delete(self, key: str) -> None:
        self._count("delete")
        self.inner.delete(key)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        self._count("list")
        return self.inner.list(prefix, start_after=start_after)

    def create_batch(self) -> CreateBatch:
        return _CountedBatch(self, self.inner.create_batch())

    def close(self) -> None:
        self.inner.close()


class _CountedBatch(CreateBatch):
    """The inner store's batch (its durability barrier kept); each create counts once."""

    def __init__(self, counting: CountingStore, inner: CreateBatch) -> None:
        super().__init__(counting)
        self._counting = counting
        self._inner = inner

    def create(self, key: str, data: PutData, on_existing: OnExisting) -> None:
        self._counting._count("put-create")
        self._inner.create(key, data, on_existing)

    def finish(self) -> None:
        self._inner.finish()

    def discard(self) -> None:
        self._inner.discard()
