"""The lost-answer resolver: an ambiguous CREATE answer is settled by reading back."""

from __future__ import annotations

import io
import itertools

import pytest

from mintstore.adapters import ObjectInfo, PutMode
from mintstore.adapters.base import PutData
from mintstore.adapters.lost_answers import READBACK_LIMIT, LostAnswerResolver, create_unique
from mintstore.adapters.memory import MemoryStore
from mintstore.adapters.registry import open_store
from mintstore.errors import AlreadyExists, StoreUnavailable

_names = itertools.count()


class LosingAnswers(MemoryStore):
    """Does every write, then (when told to) answers as a retrying SDK would."""

    def __init__(self) -> None:
        super().__init__(f"lost-answers-{next(_names)}")
        self.answer: type[Exception] | None = None

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        info = super().put(key, data, mode=mode)
        if self.answer is not None:
            raise self.answer("the answer was lost")
        return info


def test_a_create_retried_onto_itself_holds_our_bytes() -> None:
    inner = LosingAnswers()
    store = LostAnswerResolver(inner)
    inner.answer = AlreadyExists  # botocore's retry met the first attempt's object
    with pytest.raises(AlreadyExists) as answer:
        store.put("log/0.json", b'{"writer":"abc"}', mode=PutMode.CREATE)
    assert answer.value.identical and store.resolved == 1
    # A writer of unique content reads that as its own win; the contract is unchanged.
    assert create_unique(store, "log/1.json", b'{"writer":"def"}') is None
    assert inner.get_bytes("log/1.json") == b'{"writer":"def"}'


def test_a_create_whose_last_attempt_failed_but_landed_holds_our_bytes() -> None:
    inner = LosingAnswers()
    store = LostAnswerResolver(inner)
    inner.answer = StoreUnavailable
    with pytest.raises(AlreadyExists) as answer:
        store.put("lease", b"token-1", mode=PutMode.CREATE)
    assert answer.value.identical
    assert create_unique(store, "lease-2", b"token-2") is None


def test_shared_content_already_stored_is_still_reported_as_such() -> None:
    """A blob writer must learn that its blob existed (to refresh an old one)."""
    store = LostAnswerResolver(MemoryStore(f"shared-{next(_names)}"))
    store.put("blob", b"same for every writer", mode=PutMode.CREATE)
    with pytest.raises(AlreadyExists) as answer:
        store.put("blob", b"same for every writer", mode=PutMode.CREATE)
    assert answer.value.identical


def test_a_genuine_conflict_and_a_genuine_failure_stand() -> None:
    inner = LosingAnswers()
    store = LostAnswerResolver(inner)
    store.put("taken", b"theirs", mode=PutMode.CREATE)
    with pytest.raises(AlreadyExists) as mine:
        create_unique(store, "taken", b"mine")
    with pytest.raises(AlreadyExists) as prefix:  # a prefix of the stored bytes is not ours
        create_unique(store, "taken", b"their")
    assert not mine.value.identical and not prefix.value.identical
    assert store.resolved == 0


def test_unavailable_without_the_object_stays_unavailable() -> None:
    class NeverWrites(MemoryStore):
        def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
            raise StoreUnavailable("reset before forwarding")

    store = LostAnswerResolver(NeverWrites(f"never-{next(_names)}"))
    with pytest.raises(StoreUnavailable):
        store.put("absent", b"x", mode=PutMode.CREATE)


def test_streams_large_creates_and_overwrites_pass_through() -> None:
    inner = LosingAnswers()
    store = LostAnswerResolver(inner)
    inner.answer = AlreadyExists
    with pytest.raises(AlreadyExists) as stream:
        store.put("stream", io.BytesIO(b"abc"), mode=PutMode.CREATE)
    with pytest.raises(AlreadyExists) as big:
        store.put("big", b"x" * (READBACK_LIMIT + 1), mode=PutMode.CREATE)
    assert not stream.value.identical and not big.value.identical
    inner.answer = StoreUnavailable
    with pytest.raises(StoreUnavailable):
        store.put("overwrite", b"abc")
    assert store.resolved == 0


def test_the_registry_wraps_remote_backends_only() -> None:
    assert not isinstance(open_store("memory://plain"), LostAnswerResolver)
    s3 = open_store(
        "s3://bucket/prefix?endpoint_url=http://127.0.0.1:9",
        {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    with s3:
        assert isinstance(s3, LostAnswerResolver)
        assert s3.url.startswith("s3://bucket/prefix")
