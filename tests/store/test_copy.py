"""Copy and move between stores: only missing content travels, verified first."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest

from mintstore.adapters import ObjectStore
from mintstore.errors import StudyGone, VersionConflict
from mintstore.model import Attribute, Study
from mintstore.store import Actor, StudyStore
from mintstore.synthetic import write_ct_series
from mintstore.testing.backends import BackendPool
from mintstore.testing.pytest_plugin import MakeObjectStore

from .helpers import ingest_paths

ACTOR = Actor("copier", None)


def _ingest(store: StudyStore, paths: list[Path]) -> str:
    [result] = ingest_paths(store, paths, ACTOR)
    return result.study_uid


def _snapshot(store: StudyStore, uid: str) -> tuple[list[Study], dict[int, bytes]]:
    versions = [store.metadata(uid, version=c.number) for c in store.study_changes(uid)]
    items = {}
    for bid, _size, opener in store.iter_items(uid):
        with opener() as reader:
            items[bid] = reader.read()
    return versions, items


def test_copy_and_move_same_backend(
    object_store: ObjectStore, make_object_store: MakeObjectStore, tmp_path: Path
) -> None:
    series = write_ct_series(tmp_path, 3, rows=16, columns=16)
    source = StudyStore(object_store)
    uid = _ingest(source, series.paths[:2])
    _ingest(source, series.paths[2:])
    with make_object_store().open() as target_objects:
        target = StudyStore(target_objects)
        report = source.copy_study(uid, target)
        assert report.versions_copied == 2 and report.bytes_sent > 3 * 16 * 16 * 2
        assert _snapshot(target, uid) == _snapshot(source, uid)
        again = source.copy_study(uid, target)
        assert (again.bytes_sent, again.versions_copied) == (0, 0)
        # the target diverges: copying again is refused
        delta = Study(uid)
        delta.attributes[0x00081030] = Attribute(0x00081030, "LO", "TARGET ONLY")
        target.update(uid, delta, {}, actor=ACTOR)
        source.update(uid, delta, {}, actor=Actor("someone else", None))
        with pytest.raises(VersionConflict):
            source.copy_study(uid, target)
        moved = StudyStore(object_store)
        uid2 = _ingest(moved, write_ct_series(tmp_path / "b", 1, rows=8, columns=8).paths)
        moved.move_study(uid2, target, ACTOR)
        with pytest.raises(StudyGone):
            moved.metadata(uid2)
        assert target.metadata(uid2).instance_count == 1
        assert target.verify().ok


def test_copy_round_trip_across_kinds(backend_pool: BackendPool, tmp_path: Path) -> None:
    """file -> S3 (moto server) -> Swift -> Azure (Azurite) -> back to file."""
    series = write_ct_series(tmp_path, 3, rows=32, columns=32)
    names = ["file", "moto-server", "swift", "azurite"]
    specs = [backend_pool.get(name).fresh() for name in names]
    opened = [spec.open() for spec in specs]
    try:
        stores = [StudyStore(objects) for objects in opened]
        uid = _ingest(stores[0], series.paths)
        original = _snapshot(stores[0], uid)
        chain = [*stores, stores[0]]
        item_bytes = sum(len(content) for content in original[1].values())
        for source, target in itertools.pairwise(chain):
            report = source.copy_study(uid, target)
            if target is stores[0]:
                assert report.bytes_sent == 0 and report.versions_copied == 0
            else:
                assert report.bytes_sent >= item_bytes
            assert _snapshot(target, uid) == original
        second = stores[0].copy_study(uid, stores[1])
        assert second.bytes_sent == 0
        for store in stores:
            out = io.BytesIO()
            store.instance_part10(uid, series.series_instance_uid, series.sop_instance_uids[0], out)
            assert out.getvalue()
    finally:
        for objects in opened:
            objects.close()
