"""Part-10 ingest: create, append, idempotent re-send, instance read-back."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest

from mintstore.errors import DuplicateInstance, InvalidDicom
from mintstore.store import Actor, StudyStore
from mintstore.synthetic import write_ct_series

from .helpers import ingest_paths

ACTOR = Actor("tester", None)


def ingest(store: StudyStore, paths: list[Path]) -> list[tuple[str, int, bool, bool]]:
    return [
        (r.study_uid, r.version, r.created, r.changed) for r in ingest_paths(store, paths, ACTOR)
    ]


def test_create_append_resend(store: StudyStore, tmp_path: Path) -> None:
    series = write_ct_series(tmp_path, 4, rows=32, columns=32, seed=1)
    uid = series.study_instance_uid
    assert ingest(store, series.paths[:2]) == [(uid, 0, True, True)]
    assert ingest(store, series.paths[1:]) == [(uid, 1, False, True)]
    assert ingest(store, series.paths) == [(uid, 1, False, False)]
    study = store.metadata(uid)
    assert study.instance_count == 4
    for path, sop in zip(series.paths, series.sop_instance_uids, strict=True):
        out = io.BytesIO()
        store.instance_part10(uid, series.series_instance_uid, sop, out)
        original = pydicom.dcmread(path)
        rebuilt = pydicom.dcmread(io.BytesIO(out.getvalue()))
        assert rebuilt == original
        assert rebuilt.PixelData == original.PixelData
    assert [c.operation for c in store.study_changes(uid)] == ["CREATE", "UPDATE"]
    payload = store.change_payload(uid, 1)
    assert payload.instance_count == 2


def test_changed_instance_with_same_uid_is_refused(store: StudyStore, tmp_path: Path) -> None:
    series = write_ct_series(tmp_path, 1, rows=16, columns=16, seed=2)
    ingest(store, series.paths)
    ds = pydicom.dcmread(series.paths[0])
    ds.PatientName = "SOMEONE^ELSE"
    changed = tmp_path / "changed.dcm"
    ds.save_as(changed)
    with pytest.raises(DuplicateInstance):
        ingest(store, [changed])
    assert store.study_info(series.study_instance_uid).version == 0


def test_garbage_is_refused_and_changes_nothing(store: StudyStore) -> None:
    with store.begin_ingest() as session, pytest.raises(InvalidDicom):
        session.add_part10(io.BytesIO(b"\0" * 128 + b"DICM" + b"garbage" * 10))
    assert list(store.objects.list("studies/")) == []
