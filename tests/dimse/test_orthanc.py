"""Orthanc 1.10 as a peer (in its own network namespace with the gateway): Orthanc
C-STOREs a study into mintstore, mintstore C-MOVEs a study to Orthanc; both arrive
equal to the files sent, element by element."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from pydicom import dcmread

from mintstore.adapters.registry import open_store
from mintstore.convert.compare import dataset_differences
from mintstore.store import StoreConfig, StudyStore
from mintstore.synthetic import write_ct_series
from mintstore.testing.orthanc_dimse import run_in_namespace

from .conftest import without_meta


def test_orthanc_stores_into_mintstore_and_receives_a_move(tmp_path: Path) -> None:
    assert shutil.which("Orthanc"), "Orthanc is installed by scripts/setup/60-dicom-peers.sh"
    study_a = write_ct_series(tmp_path / "a", 5, rows=32, columns=32)
    study_b = write_ct_series(tmp_path / "b", 4, rows=32, columns=32)
    work = tmp_path / "work"
    work.mkdir()
    output = run_in_namespace(work, study_a.paths[0].parent, study_b.paths[0].parent)
    assert "orthanc holds 4 instances of study B" in output

    store = StudyStore(open_store((work / "store").as_uri(), {}), StoreConfig())
    for path in study_a.paths:
        original = dcmread(path)
        out = io.BytesIO()
        store.instance_part10(
            study_a.study_instance_uid,
            study_a.series_instance_uid,
            str(original.SOPInstanceUID),
            out,
        )
        out.seek(0)
        assert dataset_differences(without_meta(original), without_meta(dcmread(out))) == []
    assert {c.user for c in store.study_changes(study_a.study_instance_uid)} == {"ORTHANC"}

    originals = {str(dcmread(p).SOPInstanceUID): dcmread(p) for p in study_b.paths}
    received = sorted((work / "from-orthanc").iterdir())
    assert len(received) == 4
    for path in received:
        got = dcmread(path)
        original = originals[str(got.SOPInstanceUID)]
        assert dataset_differences(without_meta(original), without_meta(got)) == []
