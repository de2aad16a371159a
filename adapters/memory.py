"""An in-process store for tests and throwaway servers.

Stores are isolated per ``memory://NAME``: opening the same name twice in one
process gives the same contents (so an app and a test can share one), and
different names never see each other.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import ClassVar

from mintstore.errors import AlreadyExists, NotFound

from .base import (
    ObjectInfo,
    ObjectReader,
    ObjectStore,
    PutData,
    PutMode,
    check_range,
    iter_chunks,
    validate_key,
    validate_prefix,
)
from .registry import StoreLocation


class _Space:
    """One named memory namespace: sorted keys plus contents, under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: list[str] = []
        self.objects: dict[str, tuple[bytes, ObjectInfo]] = {}


class MemoryStore(ObjectStore):
    """Objects held in a dict; every operation is atomic under one lock."""

    _spaces: ClassVar[dict[str, _Space]] = {}
    _spaces_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str = "", prefix: str = "") -> None:
        with self._spaces_lock:
            self._space = self._spaces.setdefault(name, _Space())
        self._root = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"memory://{name}/{prefix}".rstrip("/")

    @classmethod
    def from_location(cls, location: StoreLocation, environ: Mapping[str, str]) -> MemoryStore:
        return cls(location.container, location.prefix)

    @classmethod
    def forget(cls, name: str) -> None:
        """Drop a named namespace (tests use this to start clean)."""
        with cls._spaces_lock:
            cls._spaces.pop(name, None)

    def _full(self, key: str) -> str:
        return self._root + validate_key(key)

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        full = self._full(key)
        content = b"".join(iter_chunks(data))
        info = ObjectInfo(key, len(content), hashlib.md5(content).hexdigest(), datetime.now(UTC))
        space = self._space
        with space.lock:
            exists = full in space.objects
            if exists and mode is PutMode.CREATE:
                raise AlreadyExists("object already exists", key=key)
            if not exists:
                bisect.insort(space.keys, full)
            space.objects[full] = (content, info)
        return info

    def _lookup(self, key: str) -> tuple[bytes, ObjectInfo]:
        full = self._full(key)
        with self._space.lock:
            found = self._space.objects.get(full)
        if found is None:
            raise NotFound("no such object", key=key)
        return found

    def get(self, key: str) -> ObjectReader:
        content, info = self._lookup(key)
        return ObjectReader(info, iter_chunks(content))

    def get_range(self, key: str, start: int, end: int) -> bytes:
        check_range(start, end)
        content, _ = self._lookup(key)
        return content[start:end]

    def head(self, key: str) -> ObjectInfo:
        return self._lookup(key)[1]

    def delete(self, key: str) -> None:
        full = self._full(key)
        space = self._space
        with space.lock:
            if space.objects.pop(full, None) is not None:
                del space.keys[bisect.bisect_left(space.keys, full)]

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        full_prefix = self._root + validate_prefix(prefix)
        space = self._space
        with space.lock:
            position = bisect.bisect_left(space.keys, full_prefix)
            if start_after is not None:
                position = max(position, bisect.bisect_right(space.keys, self._root + start_after))
            snapshot: list[ObjectInfo] = []
            for full in space.keys[position:]:
                if not full.startswith(full_prefix):
                    break
                snapshot.append(space.objects[full][1])
        yield from snapshot
