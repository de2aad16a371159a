"""An object store that counts and times every call, for ``/metrics``.

Wrapping the adapter (rather than instrumenting the engine) sees every
request whatever code path made it, and it also sees the commit protocol:
a create-if-absent of a commit record (``studies/<key>/log/<version>.json``)
that succeeds is a commit, one that finds the key taken is a lost race.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from mintstore import metrics
from mintstore.adapters import ObjectInfo, ObjectReader, ObjectStore, PutMode
from mintstore.adapters.base import CreateBatch, OnExisting, PutData
from mintstore.errors import AlreadyExists, NotFound

_COMMIT_RECORD = re.compile(r"^studies/[^/]+/log/[0-9]{12}\.json$")


class CountedObjectStore(ObjectStore):
    """Delegates to ``inner``; records operation, outcome and duration of each call."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.url = inner.url

    def _record(self, operation: str, started: float, outcome: str) -> None:
        metrics.get().objectstore_requests.labels(operation, outcome).inc()
        metrics.get().objectstore_duration.labels(operation).observe(time.perf_counter() - started)

    def _call(self, operation: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        except NotFound:
            self._record(operation, started, "not_found")
            raise
        except AlreadyExists:
            self._record(operation, started, "exists")
            raise
        except BaseException:
            self._record(operation, started, "error")
            raise
        self._record(operation, started, "ok")
        return result

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        operation = "create" if mode is PutMode.CREATE else "put"
        commit = mode is PutMode.CREATE and _COMMIT_RECORD.match(key) is not None
        try:
            info: ObjectInfo = self._call(operation, self.inner.put, key, data, mode=mode)
        except AlreadyExists:
            if commit:
                metrics.get().commit_conflicts.inc()
            raise
        if commit:
            metrics.get().commits.inc()
        return info

    def get(self, key: str) -> ObjectReader:
        reader: ObjectReader = self._call("get", self.inner.get, key)
        return reader

    def get_range(self, key: str, start: int, end: int) -> bytes:
        data: bytes = self._call("get_range", self.inner.get_range, key, start, end)
        return data

    def head(self, key: str) -> ObjectInfo:
        info: ObjectInfo = self._call("head", self.inner.head, key)
        return info

    def delete(self, key: str) -> None:
        self._call("delete", self.inner.delete, key)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        started = time.perf_counter()
        outcome = "error"
        try:
            yield from self.inner.list(prefix, start_after=start_after)
            outcome = "ok"
        except GeneratorExit:
            outcome = "ok"  # the caller stopped early: not a failure
            raise
        finally:
            self._record("list", started, outcome)

    def create_batch(self) -> CreateBatch:
        return _CountedBatch(self, self.inner.create_batch())

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        # Anything adapter-specific (tests reach for a backend's own helpers).
        return getattr(self.inner, name)


class _CountedBatch(CreateBatch):
    """The inner store's batch (so its durability barrier is kept), counted.

    Each create counts as a ``create``; the barrier, where a batching adapter
    does its syncing, is timed as a ``sync``.
    """

    def __init__(self, counted: CountedObjectStore, inner: CreateBatch) -> None:
        super().__init__(counted)
        self._counted = counted
        self._inner = inner

    def create(self, key: str, data: PutData, on_existing: OnExisting) -> None:
        self._counted._call("create", self._inner.create, key, data, on_existing)

    def finish(self) -> None:
        self._counted._call("sync", self._inner.finish)

    def discard(self) -> None:
        self._inner.discard()
