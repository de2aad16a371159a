"""Listing: byte order across nested keys, prefixes, start_after, paging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from mintstore.adapters import ObjectStore
from mintstore.errors import InvalidKey
from mintstore.testing.backends import Backend, StoreSpec
from mintstore.testing.pytest_plugin import MakeObjectStore

#: Chosen so that naive directory-walk order differs from key order:
#: "-" (0x2d) and "." (0x2e) sort before "/" (0x2f), which sorts before "0".
TRICKY_KEYS = [
    "A",
    "_x",
    "a-b",
    "a.b",
    "a/b",
    "a/c/d",
    "a0",
    "b/x",
    "blobs/ab/x",
    "blobs/abc",
    "blobs/b",
    "z/1/2/3",
]

#: For backends without listing pages (memory, file): more keys than one S3
#: page, so a listing of "many" keys is still checked end to end.
MANY = 1_050

#: URL options that shrink listing pages (adapters/_transfer.py), so the
#: servers exercise paging (continuation tokens, markers) with few keys.
#: Azure pages 5,000 names and Swift 10,000 by default: without this they
#: would never reach a second page here.
PAGE_OPTIONS: dict[str, dict[str, str]] = {
    "moto": {"page_size": "100"},
    "moto-server": {"page_size": "100"},
    "azurite": {"page_size": "100"},
    "swift": {"page_size": "100"},
}
PAGED_KEYS = 250


def _keys(store: ObjectStore, prefix: str = "", start_after: str | None = None) -> list[str]:
    return [info.key for info in store.list(prefix, start_after=start_after)]


@pytest.fixture
def tricky(object_store: ObjectStore) -> ObjectStore:
    for index, key in enumerate(TRICKY_KEYS):
        object_store.put(key, b"x" * index)
    return object_store


def test_empty_store_lists_nothing(object_store: ObjectStore) -> None:
    assert _keys(object_store) == []


def test_listing_is_in_byte_order(tricky: ObjectStore) -> None:
    infos = list(tricky.list())
    assert [info.key for info in infos] == sorted(TRICKY_KEYS)
    assert {info.key: info.size for info in infos} == {
        key: index for index, key in enumerate(TRICKY_KEYS)
    }


PREFIX_CASES = [
    ("a", ["a-b", "a.b", "a/b", "a/c/d", "a0"]),
    ("a/", ["a/b", "a/c/d"]),
    ("blobs/ab", ["blobs/ab/x", "blobs/abc"]),
    ("blobs/ab/", ["blobs/ab/x"]),
    ("z/1/2/3", ["z/1/2/3"]),
    ("nothing", []),
    ("b/", ["b/x"]),
]


def test_prefix_is_a_plain_string_match(tricky: ObjectStore) -> None:
    for prefix, expected in PREFIX_CASES:
        assert _keys(tricky, prefix) == expected, prefix


START_AFTER_CASES = [
    ("", "a/b", ["a/c/d", "a0", "b/x", "blobs/ab/x", "blobs/abc", "blobs/b", "z/1/2/3"]),
    ("", "a/bzz", ["a/c/d", "a0", "b/x", "blobs/ab/x", "blobs/abc", "blobs/b", "z/1/2/3"]),
    ("", "a/c", ["a/c/d", "a0", "b/x", "blobs/ab/x", "blobs/abc", "blobs/b", "z/1/2/3"]),
    ("a", "a.b", ["a/b", "a/c/d", "a0"]),
    ("blobs/", "blobs/ab", ["blobs/ab/x", "blobs/abc", "blobs/b"]),
    ("blobs/", "blobs/ab/x", ["blobs/abc", "blobs/b"]),
    ("blobs/", "0", ["blobs/ab/x", "blobs/abc", "blobs/b"]),
    ("", "z/1/2/3", []),
    ("", "zzz", []),
    ("a/", "b", []),
]


def test_start_after_skips_up_to_and_including(tricky: ObjectStore) -> None:
    for prefix, start_after, expected in START_AFTER_CASES:
        assert _keys(tricky, prefix, start_after) == expected, (prefix, start_after)


def test_listing_pages_through_many_keys(
    store_backend: Backend, make_object_store: MakeObjectStore
) -> None:
    options = PAGE_OPTIONS.get(store_backend.name, {})
    count = PAGED_KEYS if options else MANY
    spec: StoreSpec = make_object_store(**options)
    keys = [f"many/{index % 7}/{index:05d}" for index in range(count)]
    with spec.open() as store:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key: store.put(key, key.encode()), keys))
        store.put("other/key", b"")
        listed = _keys(store, "many/")
        assert listed == sorted(keys)
        middle = sorted(keys)[count // 2]
        assert _keys(store, "many/", middle) == sorted(keys)[count // 2 + 1 :]
        assert _keys(store, "many/3/") == sorted(key for key in keys if key.startswith("many/3/"))
        assert len(_keys(store)) == count + 1


def test_listing_is_lazy_and_resumable(object_store: ObjectStore) -> None:
    for index in range(5):
        object_store.put(f"lazy/{index}", b"")
    listing = object_store.list("lazy/")
    first = next(listing)
    assert first.key == "lazy/0"
    rest = _keys(object_store, "lazy/", first.key)
    assert rest == ["lazy/1", "lazy/2", "lazy/3", "lazy/4"]


def test_invalid_prefix_is_refused(object_store: ObjectStore) -> None:
    for prefix in ["../", "/a", "a//", "a b", "é", "a/../"]:
        with pytest.raises(InvalidKey):
            list(object_store.list(prefix))
