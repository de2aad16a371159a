"""get_range has slice semantics on every backend."""

from __future__ import annotations

import pytest

from mintstore.adapters import ObjectStore
from mintstore.errors import NotFound

DATA = bytes(range(256)) * 40  # 10,240 bytes
SIZE = len(DATA)

CASES = {
    "first-byte": (0, 1),
    "last-byte": (SIZE - 1, SIZE),
    "middle": (1000, 5000),
    "whole": (0, SIZE),
    "end-past-the-end": (SIZE - 10, SIZE + 1000),
    "start-at-the-end": (SIZE, SIZE + 10),
    "start-beyond-the-end": (SIZE + 5, SIZE + 50),
    "empty-range": (100, 100),
    "inverted-range": (200, 100),
}


@pytest.fixture
def ranged(object_store: ObjectStore) -> ObjectStore:
    object_store.put("ranged", DATA)
    return object_store


def test_range_matches_slice(ranged: ObjectStore) -> None:
    for case, (start, end) in CASES.items():
        assert ranged.get_range("ranged", start, end) == DATA[start:end], case


def test_ranges_of_an_empty_object(object_store: ObjectStore) -> None:
    object_store.put("empty", b"")
    assert object_store.get_range("empty", 0, 1) == b""
    assert object_store.get_range("empty", 0, 0) == b""
    assert object_store.get_range("empty", 5, 10) == b""


def test_negative_offsets_are_refused(ranged: ObjectStore) -> None:
    with pytest.raises(ValueError):
        ranged.get_range("ranged", -1, 10)
    with pytest.raises(ValueError):
        ranged.get_range("ranged", 0, -1)


def test_range_of_missing_object(object_store: ObjectStore) -> None:
    with pytest.raises(NotFound):
        object_store.get_range("missing", 0, 10)
