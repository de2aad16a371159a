"""The pinned version handle and the freshness of "latest" (issue 9).

A handle keeps reading its version whatever is committed after it was
opened; "latest" is strict by default and, with a freshness window, is at
most one window behind another process while a process sees its own
commits at once. Request counts are checked with the counting wrapper.
"""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mintstore.adapters import ObjectStore
from mintstore.adapters.counting import CountingStore
from mintstore.errors import ItemNotFound, StudyGone, StudyNotFound
from mintstore.model import Attribute, Instance, Series, Study
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.synthetic import write_ct_series

from .helpers import ingest_paths, item_bytes, mint_study, unique_uid

ALICE = Actor("alice", "127.0.0.1")


def _create(store: StudyStore, instances: int = 3) -> tuple[str, str, list[str]]:
    uid, series_uid = unique_uid(), unique_uid()
    sops = [unique_uid() for _ in range(instances)]
    study, items = mint_study(uid, series_uid, sops)
    with store.begin_ingest() as session:
        session.add_mint(study, items)
        session.commit(ALICE)
    return uid, series_uid, sops


def _touch(store: StudyStore, uid: str, value: str) -> int:
    """Commit an update changing one study attribute; returns the new version."""
    delta = Study(uid)
    delta.attributes[0x00100020] = Attribute(0x00100020, "LO", value)
    return store.update(uid, delta, {}, old_version=None, lock_token=None, actor=ALICE).version


def test_handle_keeps_its_version_through_update_and_delete(store: StudyStore) -> None:
    uid, series_uid, sops = _create(store)
    pinned = store.open_version(uid)
    assert (pinned.version, pinned.etag, pinned.pinned) == (0, '"0"', False)

    delta = Study(uid)
    delta.attributes[0x00100020] = Attribute(0x00100020, "LO", "PAT2")
    series = Series(series_uid)
    series.instances[sops[0]] = Instance(sops[0], exclude=True)  # drops item 0
    delta.series[series_uid] = series
    store.update(uid, delta, {}, old_version=0, actor=ALICE)
    store.delete(uid, ALICE)
    with pytest.raises(StudyGone):
        store.open_version(uid)
    # Everything still comes from version 0.
    assert pinned.metadata().attributes[0x00100020].val == "PAT1"
    assert pinned.item_ids() == [0, 1, 2]
    assert pinned.read_item(0) == item_bytes(sops[0])
    assert pinned.read_item_range(0, 10, 20) == item_bytes(sops[0])[10:20]
    streamed = {bid: opener().read() for bid, _, opener in pinned.iter_items()}
    assert streamed == {i: item_bytes(sop) for i, sop in enumerate(sops)}


def test_explicit_version_reads(store: StudyStore) -> None:
    uid, _, _ = _create(store)
    _touch(store, uid, "PAT2")
    old = store.open_version(uid, 0)
    assert old.pinned and old.version == 0
    assert old.metadata().attributes[0x00100020].val == "PAT1"
    assert store.open_version(uid).metadata().attributes[0x00100020].val == "PAT2"
    with pytest.raises(ItemNotFound):
        store.open_version(uid, 7)
    with pytest.raises(ItemNotFound):
        old.item_size(99)
    store.delete(uid, ALICE)
    with pytest.raises(StudyGone):
        store.open_version(uid, 0)  # a deleted study answers 410 for every version


def test_iter_items_checks_every_bid_before_the_first(store: StudyStore) -> None:
    uid, _, _ = _create(store)
    with pytest.raises(ItemNotFound):
        store.open_version(uid).iter_items([0, 5])


def test_warm_reads_cost_one_list_strict_and_nothing_within_a_window(
    object_store: ObjectStore,
) -> None:
    writer = StudyStore(object_store)
    uid, _, _ = _create(writer)
    for freshness, expected_lists in ((timedelta(0), 1), (timedelta(minutes=5), 0)):
        counting = CountingStore(object_store)
        reader = StudyStore(counting, StoreConfig(freshness=freshness))
        reader.open_version(uid).read_item(1)
        reader.metadata(uid)
        counting.reset()
        handle = reader.open_version(uid)
        handle.metadata()
        handle.item_ids()
        assert counting.counts["list"] == expected_lists, freshness
        assert counting.total == expected_lists  # record, documents, table: all cached
        counting.reset()
        reader.open_version(uid, 0).metadata()
        assert counting.counts["list"] == 0


def test_window_is_bounded_and_own_writes_are_seen_at_once(object_store: ObjectStore) -> None:
    writer = StudyStore(object_store)
    uid, _, _ = _create(writer)
    window = 1.5
    reader = StudyStore(object_store, StoreConfig(freshness=timedelta(seconds=window)))
    strict = StudyStore(object_store)
    started = time.monotonic()  # the reader follows the change log after this moment
    assert reader.open_version(uid).version == 0
    assert _touch(writer, uid, "ELSEWHERE") == 1
    assert strict.open_version(uid).version == 1  # strict: visible at once
    seen = reader.open_version(uid).version
    if time.monotonic() - started < window:
        assert seen == 0  # still inside the window: the reader has not looked again
    time.sleep(window + 0.2)
    assert reader.open_version(uid).version == 1  # within one window
    # Read-your-writes: the reader's own commit is its latest immediately.
    assert _touch(reader, uid, "MINE") == 2
    assert reader.open_version(uid).version == 2
    assert reader.metadata(uid).attributes[0x00100020].val == "MINE"


def test_a_window_refresh_reads_each_new_change_entry_once(object_store: ObjectStore) -> None:
    writer = StudyStore(object_store)
    uid, _, _ = _create(writer)
    counting = CountingStore(object_store)
    reader = StudyStore(counting, StoreConfig(freshness=timedelta(seconds=0.3)))
    assert reader.open_version(uid).version == 0
    _create(writer)
    _create(writer)
    assert _touch(writer, uid, "ELSEWHERE") == 1
    time.sleep(0.4)
    counting.reset()
    assert reader.open_version(uid).version == 1
    # The follow: the 3 new entries and the missing 4th (no LIST, no marker
    # reads); then the new head's commit record.
    assert dict(counting.counts) == {"get": 3 + 1 + 1}, dict(counting.counts)


def test_new_study_from_elsewhere_appears_within_the_window(object_store: ObjectStore) -> None:
    reader = StudyStore(object_store, StoreConfig(freshness=timedelta(seconds=0.5)))
    writer = StudyStore(object_store)
    missing = unique_uid()
    with pytest.raises(StudyNotFound):
        reader.open_version(missing)
    study, items = mint_study(missing, unique_uid(), [unique_uid()])
    with writer.begin_ingest() as session:
        session.add_mint(study, items)
        session.commit(ALICE)
    time.sleep(0.7)
    assert reader.open_version(missing).version == 0
    assert reader.open_version(missing).read_item(0) == items[0]().read()


def test_part10_of_a_pinned_version(store: StudyStore, tmp_path: Path) -> None:
    series = write_ct_series(tmp_path, 2, rows=16, columns=16, seed=3)
    ingest_paths(store, series.paths, ALICE)
    pinned = store.open_version(series.study_instance_uid)
    store.delete(series.study_instance_uid, ALICE)
    out = io.BytesIO()
    pinned.instance_part10(series.series_instance_uid, series.sop_instance_uids[0], out)
    assert out.getvalue()[128:132] == b"DICM"
    assert {sop for _, sop in pinned.instances()} == set(series.sop_instance_uids)
