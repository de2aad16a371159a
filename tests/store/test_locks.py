"""Update locks: one holder, expiry, takeover, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mintstore.adapters import ObjectStore
from mintstore.errors import Locked, LockInvalid
from mintstore.model import Attribute, Study
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.synthetic import write_ct_series

ACTOR = Actor("locker", None)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _delta(uid: str, value: str) -> Study:
    delta = Study(uid)
    delta.attributes[0x00081030] = Attribute(0x00081030, "LO", value)
    return delta


def test_lock_lifecycle(object_store: ObjectStore, tmp_path: Path) -> None:
    clock = Clock()
    store = StudyStore(object_store, StoreConfig(clock=clock, lock_ttl=timedelta(minutes=1)))
    series = write_ct_series(tmp_path, 1, rows=8, columns=8)
    with store.begin_ingest() as session, series.paths[0].open("rb") as stream:
        session.add_part10(stream)
        session.commit(ACTOR)
    uid = series.study_instance_uid
    lease = store.acquire_lock(uid, "alice")
    with pytest.raises(Locked):
        store.acquire_lock(uid, "bob")
    with pytest.raises(Locked):
        store.update(uid, _delta(uid, "no token"), {}, actor=ACTOR)
    assert store.update(uid, _delta(uid, "A"), {}, lock_token=lease.token, actor=ACTOR).version == 1
    with pytest.raises(LockInvalid):
        store.update(uid, _delta(uid, "x"), {}, lock_token="1.forged", actor=ACTOR)
    # expiry (within the safety margin already) -> the token no longer works, bob takes over
    clock.now += timedelta(seconds=58)
    with pytest.raises(LockInvalid):
        store.update(uid, _delta(uid, "late"), {}, lock_token=lease.token, actor=ACTOR)
    clock.now += timedelta(seconds=5)
    bob = store.acquire_lock(uid, "bob")
    with pytest.raises(LockInvalid):
        store.update(uid, _delta(uid, "stale"), {}, lock_token=lease.token, actor=ACTOR)
    store.release_lock(uid, bob.token)
    with pytest.raises(LockInvalid):
        store.update(uid, _delta(uid, "released"), {}, lock_token=bob.token, actor=ACTOR)
    assert store.update(uid, _delta(uid, "free"), {}, actor=ACTOR).version == 2
    carol = store.acquire_lock(uid, "carol")
    assert carol.token.startswith("3.")
    assert store.metadata(uid).attributes[0x00081030].val == "free"
