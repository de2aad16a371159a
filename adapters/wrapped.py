"""A wrapper store that forwards everything to the store it wraps.

Cross-cutting behaviour (settling Swift's creates, resolving lost create
answers) lives in wrapper stores, the Arrow ``object_store`` way. Such a
wrapper usually changes one operation; it subclasses this and overrides just
that, instead of repeating the forwarding of the rest.
"""

from __future__ import annotations

from collections.abc import Iterator

from .base import ObjectInfo, ObjectReader, ObjectStore, PutData, PutMode


class WrappedStore(ObjectStore):
    """Every operation goes to ``inner``; subclasses override what they change."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.url = inner.url

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        return self.inner.put(key, data, mode=mode)

    def get(self, key: str) -> ObjectReader:
        return self.inner.get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        return self.inner.get_range(key, start, end)

    def head(self, key: str) -> ObjectInfo:
        return self.inner.head(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        return self.inner.list(prefix, start_after=start_after)

    def close(self) -> None:
        self.inner.close()
