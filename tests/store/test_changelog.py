"""The system change log under injected crashes: exactly one valid entry per version."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mintstore.adapters import ObjectStore, PutMode
from mintstore.model import Attribute, Study
from mintstore.store import Actor, StoreConfig, StudyStore, maintenance
from mintstore.store.layout import seq_key, seq_marker_key, study_key
from mintstore.store.records import SeqEntry

from .helpers import engine, mint_study, unique_uid

ACTOR = Actor("log", None)


def _all_changes(store: StudyStore) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    page = store.system_changes(limit=2)
    while page.changes:
        seen.extend((c.study_uid, c.version) for c in page.changes)
        page = store.system_changes(continuation=page.continuation, limit=2)
    return seen


def _crashed_commit(store: StudyStore) -> tuple[str, str]:
    """A study whose version 1 committed but whose writer died before its entry."""
    uid = unique_uid()
    study, items = mint_study(uid, unique_uid(), [unique_uid()])
    with store.begin_ingest() as session:
        session.add_mint(study, items)
        session.commit(ACTOR)
    skey = study_key(uid)
    head = engine(store).log.head(skey)
    assert head is not None
    version1 = replace(head, version=1, previous=0, operation="UPDATE")
    assert engine(store).log.try_commit(skey, version1)  # no entry, no marker
    return uid, skey


@pytest.mark.parametrize("reader_first", [False, True])
def test_slow_writer_and_backfill_give_one_valid_entry(
    object_store: ObjectStore, reader_first: bool
) -> None:
    store = StudyStore(object_store)
    uid, skey = _crashed_commit(store)
    assert _all_changes(store) == [(uid, 0)]  # version 1 is not logged yet
    record = engine(store).log.record(skey, 1)
    # The slow writer wakes up and claims its entry, but not yet its marker.
    slow = engine(store).changes.tail() + 1
    object_store.put(seq_key(slow), SeqEntry(slow, skey, record).to_bytes(), mode=PutMode.CREATE)
    later = record.time + timedelta(hours=1)
    if reader_first:
        # A reader meets the unmarked entry first and decides it is the one.
        assert _all_changes(StudyStore(object_store)) == [(uid, 0), (uid, 1)]
        assert not engine(store).changes.backfill(skey, record, now=later)
    else:
        # A backfiller (e.g. verify) adds its own entry and marker first.
        assert engine(store).changes.backfill(skey, record, now=later)
    # The slow writer now tries to mark its entry: the decision is already made.
    decided = engine(store).changes.arbitrate(skey, 1, slow)
    assert decided == (slow if reader_first else slow + 1)
    assert object_store.get_bytes(seq_marker_key(skey, 1)) == str(decided).encode()
    for reader in (store, StudyStore(object_store)):
        assert _all_changes(reader) == [(uid, 0), (uid, 1)]


def test_verify_backfills_old_unlogged_versions(object_store: ObjectStore) -> None:
    store = StudyStore(object_store)
    uid, skey = _crashed_commit(store)
    record = engine(store).log.record(skey, 1)
    # too young: its writer might still be about to log it
    assert store.verify().backfilled_changes == 0
    report = maintenance.verify(engine(store), backfill_now=record.time + timedelta(minutes=2))
    assert report.backfilled_changes == 1
    assert _all_changes(StudyStore(object_store)) == [(uid, 0), (uid, 1)]


def test_next_commit_backfills_its_predecessor(object_store: ObjectStore) -> None:
    store = StudyStore(object_store, StoreConfig(seq_backfill_after=timedelta(0)))
    uid, _ = _crashed_commit(store)
    delta = Study(uid)
    delta.attributes[0x00081030] = Attribute(0x00081030, "LO", "next")
    assert store.update(uid, delta, {}, actor=ACTOR).version == 2
    assert sorted(_all_changes(StudyStore(object_store))) == [(uid, 0), (uid, 1), (uid, 2)]
