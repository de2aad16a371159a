"""Put/get round trips, streaming reads, head and delete on every backend."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import pytest

from mintstore.adapters import ObjectStore, PutMode
from mintstore.adapters.base import PutData
from mintstore.errors import NotFound

from .payloads import LARGE_SIZE, UnsizedStream, payload

Wrap = Callable[[bytes], PutData]

WRAPPERS: dict[str, Wrap] = {
    "bytes": lambda data: data,
    "bytearray": lambda data: bytearray(data),
    "memoryview": lambda data: memoryview(data),
    "seekable-stream": lambda data: io.BytesIO(data),
    "unsized-stream": lambda data: io.BufferedReader(UnsizedStream(data)),
}


def _read_back(store: ObjectStore, key: str) -> bytes:
    with store.get(key) as reader:
        return b"".join(reader.iter_chunks())


@pytest.mark.parametrize("wrap", WRAPPERS, ids=list(WRAPPERS))
def test_small_objects_round_trip(object_store: ObjectStore, wrap: str) -> None:
    for size in (0, 1, 5000):
        key = f"obj/small-{size}"
        data = payload(size, seed=size)
        info = object_store.put(key, WRAPPERS[wrap](data))
        assert (info.key, info.size) == (key, size)
        assert object_store.get_bytes(key) == data, f"{size} bytes"
        assert object_store.head(key).size == size


@pytest.mark.parametrize("wrap", ["bytes", "unsized-stream"])
def test_large_object_round_trips_through_the_large_object_path(
    object_store: ObjectStore, wrap: str
) -> None:
    data = payload(LARGE_SIZE, seed=20)
    info = object_store.put("big/object", WRAPPERS[wrap](data))
    assert info.size == LARGE_SIZE
    assert object_store.head("big/object").size == LARGE_SIZE
    digest = hashlib.sha256()
    read = 0
    with object_store.get("big/object") as reader:
        assert reader.info.size == LARGE_SIZE
        for chunk in reader.iter_chunks():
            digest.update(chunk)
            read += len(chunk)
    assert read == LARGE_SIZE
    assert digest.digest() == hashlib.sha256(data).digest()
    # A range straddling the 8 MiB boundary where parts/blocks/segments meet.
    boundary = 8 * 1024 * 1024
    assert (
        object_store.get_range("big/object", boundary - 10, boundary + 10)
        == data[boundary - 10 : boundary + 10]
    )
    object_store.delete("big/object")
    assert not object_store.exists("big/object")


def test_get_streams_in_small_reads(object_store: ObjectStore) -> None:
    data = payload(3 * 1024 * 1024 + 17, seed=3)
    object_store.put("stream/me", data)
    pieces = []
    with object_store.get("stream/me") as reader:
        while piece := reader.read(65_536):
            assert len(piece) <= 65_536
            pieces.append(piece)
    assert b"".join(pieces) == data


def test_reader_can_be_closed_early(object_store: ObjectStore) -> None:
    object_store.put("partial", payload(2 * 1024 * 1024, seed=4))
    reader = object_store.get("partial")
    assert len(reader.read(10)) == 10
    reader.close()
    assert reader.closed
    # The store is still usable after abandoning a read half-way.
    assert object_store.head("partial").size == 2 * 1024 * 1024


def test_head_reports_size_and_key(object_store: ObjectStore) -> None:
    object_store.put("dir/sub/head-me", b"12345")
    info = object_store.head("dir/sub/head-me")
    assert info.key == "dir/sub/head-me"
    assert info.size == 5


def test_etag_changes_when_content_changes(object_store: ObjectStore) -> None:
    first = object_store.put("etag", b"one")
    second = object_store.put("etag", b"two!")
    if first.etag is not None or second.etag is not None:
        assert first.etag != second.etag
        assert object_store.head("etag").etag == second.etag


def test_overwrite_replaces_content(object_store: ObjectStore) -> None:
    object_store.put("replace", b"old content, longer than the new one")
    object_store.put("replace", b"new", mode=PutMode.OVERWRITE)
    assert object_store.get_bytes("replace") == b"new"
    assert object_store.head("replace").size == 3


def test_delete_is_idempotent(object_store: ObjectStore) -> None:
    object_store.delete("never/existed")
    object_store.put("gone/soon", b"x")
    object_store.delete("gone/soon")
    object_store.delete("gone/soon")
    with pytest.raises(NotFound):
        object_store.head("gone/soon")
    assert list(object_store.list()) == []


def test_delete_leaves_neighbours(object_store: ObjectStore) -> None:
    object_store.put("n/a", b"a")
    object_store.put("n/b", b"b")
    object_store.delete("n/a")
    assert [info.key for info in object_store.list()] == ["n/b"]
    # A key can be created again after it was deleted (even with CREATE).
    object_store.put("n/a", b"again", mode=PutMode.CREATE)
    assert object_store.get_bytes("n/a") == b"again"
