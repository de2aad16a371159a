"""Settled create-if-absent: the engine's arbitration on stores like Swift."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mintstore.adapters import PutMode
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import AlreadyExists
from mintstore.store.exclusive import Settle, create_exclusive

SETTLE = Settle(floor=timedelta(seconds=0.5), factor=4.0)


class LateLandingStore(MemoryStore):
    """A memory store that, like Swift, lets a create be replaced after it landed."""

    atomic_create = False


@pytest.fixture
def store() -> LateLandingStore:
    MemoryStore.forget("exclusive")
    return LateLandingStore("exclusive")


def test_a_create_replaced_during_the_settle_loses(store: LateLandingStore) -> None:
    def competitor_lands(seconds: float) -> None:
        assert seconds == 0.5
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


def test_the_wait_grows_with_a_slow_create(store: LateLandingStore) -> None:
    ticks = iter([10.0, 10.5])  # the create took 0.5 s: the store is slow right now
    slept: list[float] = []
    create_exclusive(store, "log/1", b"ours", SETTLE, sleep=slept.append, clock=lambda: next(ticks))
    assert slept == [2.0]
