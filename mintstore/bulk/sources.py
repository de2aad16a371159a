"""Where bulk import reads Part-10 files from: a folder tree, or a bucket prefix.

A file is named by a :class:`FileRef` that a worker can open on its own
(a path, or a store URL and key), so the driver never reads file contents.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mintstore.adapters import ObjectStore, open_store
from mintstore.errors import InvalidInput


@dataclass(frozen=True)
class FileRef:
    """One source file: ``name`` is a path, or a key of the store at ``store_url``."""

    name: str
    size: int
    store_url: str | None = None


def is_store_url(source: str) -> bool:
    return "://" in source


def list_source(source: str, environ: Mapping[str, str]) -> Iterator[FileRef]:
    """Every file under the source, in a stable order (nothing is opened)."""
    if is_store_url(source):
        with open_store(source, environ) as objects:
            for info in objects.list(""):
                yield FileRef(info.key, info.size, source)
        return
    root = Path(source)
    if root.is_file():
        yield FileRef(str(root), root.stat().st_size)
        return
    if not root.is_dir():
        raise InvalidInput(f"no such file or folder: {source}")
    for directory, folders, files in os.walk(root):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            yield FileRef(path, size)


class SourceReader:
    """Opens source files on a worker (one store connection per source URL)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._stores: dict[str, ObjectStore] = {}

    def open(self, ref: FileRef) -> AbstractContextManager[BinaryIO]:
        if ref.store_url is None:
            return open(ref.name, "rb")
        return self._store(ref.store_url).get(ref.name)  # type: ignore[return-value]

    def read_head(self, ref: FileRef, size: int) -> bytes:
        """The first ``size`` bytes (enough for the header of most files): one read."""
        if ref.store_url is None:
            with open(ref.name, "rb") as stream:
                return stream.read(size)
        return self._store(ref.store_url).get_range(ref.name, 0, size)

    def _store(self, url: str) -> ObjectStore:
        objects = self._stores.get(url)
        if objects is None:
            objects = open_store(url, self._environ)
            self._stores[url] = objects
        return objects

    def close(self) -> None:
        for objects in self._stores.values():
            objects.close()
        self._stores.clear()
