"""The scan's fast header reader agrees with pydicom on every file it answers for."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom import dcmread
from pydicom.uid import UID

from mintstore.bulk.headers import header_uids
from mintstore.synthetic import write_ct_series

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _pydicom_uids(data: bytes) -> tuple[str, str] | None:
    try:
        dataset = dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception:  # any failure: no answer to compare with
        return None
    study, sop = dataset.get("StudyInstanceUID"), dataset.get("SOPInstanceUID")
    return (str(study), str(sop)) if study and sop else None


def _files() -> list[Path]:
    import data_store

    found = sorted(p for p in PYDICOM_FILES.rglob("*") if p.is_file())
    found += sorted(p for p in (Path(data_store.__file__).parent / "data").rglob("*.dcm"))
    return found


def test_every_answer_is_pydicoms_and_the_common_encodings_are_answered() -> None:
    answered = disagreed = 0
    for path in _files():
        data = path.read_bytes()
        fast = header_uids(data[: 64 * 1024])  # what the scan reads first
        if fast is None:
            continue
        answered += 1
        if fast != _pydicom_uids(data):
            disagreed += 1
    assert disagreed == 0
    assert answered >= 50  # the fast path is taken on most real files, not only ours


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"])
def test_synthetic_files_and_every_cut_of_them(tmp_path: Path, syntax: str) -> None:
    series = write_ct_series(tmp_path, 1, rows=8, columns=8, seed=3)
    dataset = dcmread(series.paths[0])
    dataset.file_meta.TransferSyntaxUID = UID(syntax)
    buffer = io.BytesIO()
    dataset.save_as(buffer, implicit_vr=syntax == "1.2.840.10008.1.2", little_endian=True)
    data = buffer.getvalue()
    expected = (series.study_instance_uid, series.sop_instance_uids[0])
    assert header_uids(data) == expected == _pydicom_uids(data)
    for cut in range(len(data)):  # a truncated header never yields another answer
        assert header_uids(data[:cut]) in (None, expected)
    assert header_uids(b"\0" * 128 + b"DICM" + b"\xff" * 300) is None
    assert header_uids(b"not dicom at all") is None
