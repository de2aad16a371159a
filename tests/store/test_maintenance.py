"""Integrity, verify and gc."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import IntegrityError
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.store.layout import blob_key
from mintstore.synthetic import write_ct_series

from .helpers import engine, ingest_paths

ACTOR = Actor("maint", None)


def _ingest(store: StudyStore, paths: list[Path]) -> str:
    [result] = ingest_paths(store, paths, ACTOR)
    return result.study_uid


def test_flipped_byte_is_detected(object_store: ObjectStore, tmp_path: Path) -> None:
    store = StudyStore(object_store)
    uid = _ingest(store, write_ct_series(tmp_path, 2, rows=16, columns=16).paths)
    digest = store.open_version(uid).item_digest(1)
    key = blob_key(digest)
    data = bytearray(object_store.get_bytes(key))
    data[len(data) // 2] ^= 0x01
    object_store.put(key, bytes(data), mode=PutMode.OVERWRITE)
    with pytest.raises(IntegrityError), store.open_item(uid, 1) as reader:
        reader.read()
    with store.open_item(uid, 0) as reader:
        reader.read()
    report = store.verify(deep=True)
    assert [(p.study_uid, p.digest) for p in report.problems] == [(uid, digest)]
    assert store.verify(deep=False).ok  # the cheap mode checks existence and size only


def test_gc_removes_orphans_and_deleted_content_only(
    object_store: ObjectStore, tmp_path: Path
) -> None:
    store = StudyStore(object_store)
    keep = _ingest(store, write_ct_series(tmp_path / "a", 2, rows=16, columns=16).paths)
    gone = _ingest(store, write_ct_series(tmp_path / "b", 2, rows=16, columns=16).paths)
    orphan, _ = engine(store).blobs.put(b"nobody refers to this")
    assert store.verify().orphans == [orphan]
    assert store.gc(timedelta(hours=1)).deleted == []  # everything is young
    store.delete(gone, ACTOR)
    report = store.gc(timedelta(0))
    assert orphan in report.deleted and len(report.deleted) > 1
    assert store.verify(deep=True).ok
    assert store.verify().orphans == []
    assert store.metadata(keep).instance_count == 2


def test_old_blob_is_refreshed_when_reused(object_store: ObjectStore) -> None:
    """A re-used blob older than half the gc grace is re-put so gc cannot take it."""
    store = StudyStore(object_store, StoreConfig(gc_grace=timedelta(seconds=0)))
    digest, _ = engine(store).blobs.put(b"shared content")
    first = object_store.head(blob_key(digest)).last_modified
    assert first is not None
    import time

    time.sleep(1.1)
    engine(store).blobs.put(b"shared content")
    second = object_store.head(blob_key(digest)).last_modified
    assert second is not None and second > first
    young = StudyStore(object_store, StoreConfig(gc_grace=timedelta(hours=1)))
    engine(young).blobs.put(b"shared content")
    assert object_store.head(blob_key(digest)).last_modified == second
