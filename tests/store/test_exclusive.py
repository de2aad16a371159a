"""Settled create-if-absent: the engine's arbitration on stores like Swift."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mintstore.adapters import PutMode
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import AlreadyExists
from mintstore.store.exclusive import create_exclusive

SETTLE = timedelta(seconds=0.5)


class LateLandingStore(MemoryStore):
    """A memory store that, like Swift, lets a create be replaced after it landed."""

    atomic_create = False


@pytest.fixture
def store() -> LateLandingStore:
    MemoryStore.forget("exclusive")
    return LateLandingStore("exclusive")


def test_a_create_replaced_during_the_settle_loses(store: LateLandingStore) -> None:
    def competitor_lands(seconds: float) -> None:
        assert seconds == SETTLE.total_seconds()
        store.put("log/1", b"theirs", mode=PutMode.OVERWRITE)  # passed the check earlier

    with pytest.raises(AlreadyExists, match="replaced"):
        create_exclusive(store, "log/1", b"ours", SETTLE, sleep=competitor_lands)
    assert store.get_bytes("log/1") == b"theirs"


def test_a_create_nobody_replaced_wins_after_the_settle(store: LateLandingStore) -> None:
    slept: list[float] = []
    create_exclusive(store, "log/1", b"ours", SETTLE, sleep=slept.append)
    assert slept == [0.5]
    assert store.get_bytes("log/1") == b"ours"


def test_an_existing_key_still_refuses_at_once(store: LateLandingStore) -> None:
    store.put("log/1", b"first")
    slept: list[float] = []
    with pytest.raises(AlreadyExists):
        create_exclusive(store, "log/1", b"ours", SETTLE, sleep=slept.append)
    assert slept == []


def test_atomic_stores_do_not_wait() -> None:
    MemoryStore.forget("exclusive-atomic")
    atomic = MemoryStore("exclusive-atomic")
    slept: list[float] = []
    create_exclusive(atomic, "log/1", b"ours", SETTLE, sleep=slept.append)
    assert slept == []
