"""A lost commit race is rebased on the winner's version without re-converting.

Two sessions start from the same version and each adds another instance;
the one committing second loses the race for the version, and must re-add
its instance on top of the winner's model to model: no instance is turned
back into a DICOM data set and no binary item is read back.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

import pydicom

from mintstore.adapters import ObjectStore
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.store.wiring import DicomConverter
from mintstore.synthetic import write_ct_series

from .helpers import ingest_paths

ACTOR = Actor("racer")


class NoReconversion(DicomConverter):
    """The real converter, refusing to turn a stored instance back into DICOM."""

    def instance_to_dataset(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an instance was re-converted to DICOM during ingest")


def _part10(path: Path) -> BinaryIO:
    return io.BytesIO(path.read_bytes())


def test_lost_race_is_rebased_model_to_model(object_store: ObjectStore, tmp_path: Path) -> None:
    series = write_ct_series(tmp_path, 3, rows=32, columns=32, seed=7)
    uid = series.study_instance_uid
    config = StoreConfig(converter=NoReconversion())
    store = StudyStore(object_store, config)
    ingest_paths(store, series.paths[:1], ACTOR)
    first = store.begin_ingest()
    second = store.begin_ingest()
    try:
        first.add_part10(_part10(series.paths[1]))
        second.add_part10(_part10(series.paths[2]))  # both start from version 0
        assert first.commit(ACTOR)[0].version == 1
        result = second.commit(ACTOR)[0]  # loses version 1, rebased onto it
    finally:
        first.close()
        second.close()
    assert result.version == 2 and result.changed
    reader = StudyStore(object_store)
    version = reader.open_version(uid)
    assert {sop for _, sop in version.instances()} == set(series.sop_instance_uids)
    for path, sop in zip(series.paths, series.sop_instance_uids, strict=True):
        out = io.BytesIO()
        version.instance_part10(series.series_instance_uid, sop, out)
        rebuilt = pydicom.dcmread(io.BytesIO(out.getvalue()))
        original = pydicom.dcmread(path)
        assert rebuilt.PixelData == original.PixelData
        assert rebuilt.ImagePositionPatient == original.ImagePositionPatient
    assert len(set(version.item_ids())) == 3


def test_rebase_onto_the_same_instance_is_idempotent(
    object_store: ObjectStore, tmp_path: Path
) -> None:
    series = write_ct_series(tmp_path, 2, rows=32, columns=32, seed=8)
    store = StudyStore(object_store, StoreConfig(converter=NoReconversion()))
    ingest_paths(store, series.paths[:1], ACTOR)
    first, second = store.begin_ingest(), store.begin_ingest()
    try:
        first.add_part10(_part10(series.paths[1]))
        second.add_part10(_part10(series.paths[1]))  # the very same instance
        first.commit(ACTOR)
        result = second.commit(ACTOR)[0]
    finally:
        first.close()
        second.close()
    assert not result.changed and result.version == 1  # already stored by the winner
    assert len(StudyStore(object_store).open_version(series.study_instance_uid).item_ids()) == 2
