"""The lost-answer resolver: an ambiguous CREATE answer is settled by reading back."""

from __future__ import annotations

import io
import itertools

import pytest

from mintstore.adapters import ObjectInfo, PutMode
from mintstore.adapters.base import PutData
from mintstore.adapters.lost_answers import READBACK_LIMIT, LostAnswerResolver
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


def test_a_create_retried_onto_itself_is_our_own_win() -> None:
    inner = LosingAnswers()
    store = LostAnswerResolver(inner)
    inner.answer = AlreadyExists  # botocore's retry met the first attempt's object
    info = store.put("log/0.json", b'{"writer":"abc"}', mode=PutMode.CREATE)
    assert info.size == len(b'{"writer":"abc"}')
    assert store.resolved == 1


def test_a_create_whose_last_attempt_failed_but_landed_is_our_own_win() -> None:
    inner = LosingAnswers()
    store = LostAnswerResolver(inner)
    inner.answer = StoreUnavailable
    store.put("lease", b"token-1", mode=PutMode.CREATE)
    assert inner.get_bytes("lease") == b"token-1"


def test_a_genuine_conflict_and_a_genuine_failure_stand() -> None:
    inner = LosingAnswers()
    store = LostAnswerResolver(inner)
    store.put("taken", b"theirs", mode=PutMode.CREATE)
    with pytest.raises(AlreadyExists):
        store.put("taken", b"mine", mode=PutMode.CREATE)
    with pytest.raises(AlreadyExists):  # a prefix of the stored bytes is not ours either
        store.put("taken", b"their", mode=PutMode.CREATE)
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
    with pytest.raises(AlreadyExists):
        store.put("stream", io.BytesIO(b"abc"), mode=PutMode.CREATE)
    with pytest.raises(AlreadyExists):
        store.put("big", b"x" * (READBACK_LIMIT + 1), mode=PutMode.CREATE)
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
