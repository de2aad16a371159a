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

#: More keys than one S3 listing page (1,000).
MANY = 1_050

#: Per-backend URL options that shrink listing pages, so paging is exercised
#: with a modest number of keys (Azure pages 5,000 names and Swift 10,000 by
#: default). Filled in as the adapters document their options.
PAGE_OPTIONS: dict[str, dict[str, str]] = {}


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


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a", ["a-b", "a.b", "a/b", "a/c/d", "a0"]),
        ("a/", ["a/b", "a/c/d"]),
        ("blobs/ab", ["blobs/ab/x", "blobs/abc"]),
        ("blobs/ab/", ["blobs/ab/x"]),
        ("z/1/2/3", ["z/1/2/3"]),
        ("nothing", []),
        ("b/", ["b/x"]),
    ],
)
def test_prefix_is_a_plain_string_match(
    tricky: ObjectStore, prefix: str, expected: list[str]
) -> None:
    assert _keys(tricky, prefix) == expected


@pytest.mark.parametrize(
    ("prefix", "start_after", "expected"),
    [
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
    ],
)
def test_start_after_skips_up_to_and_including(
    tricky: ObjectStore, prefix: str, start_after: str, expected: list[str]
) -> None:
    assert _keys(tricky, prefix, start_after) == expected


def test_listing_pages_through_more_than_a_thousand_keys(
    store_backend: Backend, make_object_store: MakeObjectStore
) -> None:
    spec: StoreSpec = make_object_store(**PAGE_OPTIONS.get(store_backend.name, {}))
    keys = [f"many/{index % 7}/{index:05d}" for index in range(MANY)]
    with spec.open() as store:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key: store.put(key, key.encode()), keys))
        store.put("other/key", b"")
        listed = _keys(store, "many/")
        assert listed == sorted(keys)
        middle = sorted(keys)[MANY // 2]
        assert _keys(store, "many/", middle) == sorted(keys)[MANY // 2 + 1 :]
        assert _keys(store, "many/3/") == sorted(key for key in keys if key.startswith("many/3/"))
        assert len(_keys(store)) == MANY + 1


def test_listing_is_lazy_and_resumable(object_store: ObjectStore) -> None:
    for index in range(5):
        object_store.put(f"lazy/{index}", b"")
    listing = object_store.list("lazy/")
    first = next(listing)
    assert first.key == "lazy/0"
    rest = _keys(object_store, "lazy/", first.key)
    assert rest == ["lazy/1", "lazy/2", "lazy/3", "lazy/4"]


@pytest.mark.parametrize("prefix", ["../", "/a", "a//", "a b", "é"])
def test_invalid_prefix_is_refused(object_store: ObjectStore, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        list(object_store.list(prefix))
