"""Settled create-if-absent: the wrapper the registry puts around every Swift store."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from mintstore.adapters import PutMode
from mintstore.adapters.memory import MemoryStore
from mintstore.adapters.registry import open_store
from mintstore.adapters.settled import Settle, SettledCreates
from mintstore.errors import AlreadyExists, ConfigurationError

SETTLE = Settle(floor=timedelta(seconds=0.5), factor=4.0)


@pytest.fixture
def inner() -> MemoryStore:
    MemoryStore.forget("settled")
    return MemoryStore("settled")


def test_a_create_replaced_during_the_settle_loses(inner: MemoryStore) -> None:
    def competitor_lands(seconds: float) -> None:
        assert seconds == 0.5
        inner.put("log/1", b"theirs", mode=PutMode.OVERWRITE)  # passed the check earlier

    store = SettledCreates(inner, SETTLE, sleep=competitor_lands)
    with pytest.raises(AlreadyExists, match="replaced"):
        store.put("log/1", b"ours", mode=PutMode.CREATE)
    assert store.get_bytes("log/1") == b"theirs"


def test_a_create_nobody_replaced_wins_after_the_settle(inner: MemoryStore) -> None:
    slept: list[float] = []
    store = SettledCreates(inner, SETTLE, sleep=slept.append)
    store.put("log/1", b"ours", mode=PutMode.CREATE)
    assert slept == [0.5]
    assert store.get_bytes("log/1") == b"ours"


def test_an_existing_key_still_refuses_at_once(inner: MemoryStore) -> None:
    inner.put("log/1", b"first")
    slept: list[float] = []
    store = SettledCreates(inner, SETTLE, sleep=slept.append)
    with pytest.raises(AlreadyExists):
        store.put("log/1", b"ours", mode=PutMode.CREATE)
    assert slept == []


def test_content_and_overwrites_do_not_wait(inner: MemoryStore) -> None:
    slept: list[float] = []
    store = SettledCreates(inner, SETTLE, sleep=slept.append, max_bytes=1024)
    store.put("blob/a", io.BytesIO(b"streamed content"), mode=PutMode.CREATE)
    store.put("blob/b", b"x" * 2048, mode=PutMode.CREATE)  # larger than an arbitration record
    store.put("log/1", b"ours", mode=PutMode.OVERWRITE)
    assert slept == []


def test_the_wait_grows_with_a_slow_create(inner: MemoryStore) -> None:
    ticks = iter([10.0, 10.5])  # the create took 0.5 s: the store is slow right now
    slept: list[float] = []
    store = SettledCreates(inner, SETTLE, sleep=slept.append, clock=lambda: next(ticks))
    store.put("log/1", b"ours", mode=PutMode.CREATE)
    assert slept == [2.0]


def test_settle_options_come_from_the_url() -> None:
    settle = Settle.from_options({"settle_floor_ms": "50", "settle_factor": "2"})
    assert settle == Settle(timedelta(milliseconds=50), 2.0)
    with pytest.raises(ConfigurationError):
        Settle.from_options({"settle_factor": "fast"})


def test_only_swift_is_wrapped() -> None:
    assert not isinstance(open_store("memory://plain"), SettledCreates)
