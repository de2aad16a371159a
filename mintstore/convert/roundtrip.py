"""DICOM -> MINT -> DICOM for one file, and a verdict (used by tests and reports).

A file without Study/Series/SOP Instance UID cannot be placed in a MINT study;
to still exercise its content, :func:`roundtrip_file` can give it fixed
stand-in UIDs (``inject_uids``) and then compares against the original *with
those UIDs added* (byte identity is then not meaningful).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pydicom
from pydicom.dataset import Dataset

from mintstore.convert.builder import StudyBuilder
from mintstore.convert.compare import dataset_differences
from mintstore.convert.reading import read_part10
from mintstore.convert.to_dicom import instance_to_dataset, write_part10
from mintstore.model import SERIES_INSTANCE_UID_TAG, SOP_INSTANCE_UID_TAG, STUDY_INSTANCE_UID_TAG

Status = Literal["identical", "equal", "different", "uids-injected"]

STAND_IN_UIDS = {
    STUDY_INSTANCE_UID_TAG: ("StudyInstanceUID", "2.25.1001"),
    SERIES_INSTANCE_UID_TAG: ("SeriesInstanceUID", "2.25.1002"),
    SOP_INSTANCE_UID_TAG: ("SOPInstanceUID", "2.25.1003"),
}


@dataclass
class RoundTrip:
    """The verdict for one file."""

    status: Status
    differences: list[str]
    first_byte_difference: int | None
    rebuilt: bytes


def _missing_uids(ds: Dataset) -> list[int]:
    return [tag for tag in STAND_IN_UIDS if not str(ds.get(tag, "") and ds[tag].value).strip()]


def roundtrip_file(path: Path | str, *, inject_uids: bool = False) -> RoundTrip:
    """Convert ``path`` to MINT and back; raises InvalidDicom like ingest would."""
    original_bytes = Path(path).read_bytes()
    original = read_part10(original_bytes)
    # Looking at values decodes elements (e.g. UN becomes UI): look at a copy.
    missing = _missing_uids(read_part10(original_bytes)) if inject_uids else []
    injected = bool(missing)
    if injected:
        for tag in missing:
            keyword, uid = STAND_IN_UIDS[tag]
            setattr(original, keyword, uid)
    builder = StudyBuilder()
    items = {bid: bytes(content) for bid, content in builder.add_dataset(original)}
    study = builder.study
    (series,) = study.series.values()
    (instance,) = series.instances.values()
    rebuilt = instance_to_dataset(
        study, series.series_instance_uid, instance.sop_instance_uid, items.__getitem__
    )
    out = io.BytesIO()
    write_part10(rebuilt, out)
    written = out.getvalue()
    differences = dataset_differences(original, rebuilt)
    differences += [f"file: {d}" for d in dataset_differences(original, read_part10(written))]
    first = _first_difference(original_bytes, written)
    if differences:
        status: Status = "different"
    elif injected:
        status = "uids-injected"
    else:
        status = "identical" if first is None else "equal"
    return RoundTrip(status, differences, first, written)


def _first_difference(a: bytes, b: bytes) -> int | None:
    if a == b:
        return None
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


PYDICOM_DATA = Path(pydicom.__file__).parent / "data"
_NOT_DICOM_SUFFIXES = {".py", ".pyc", ".txt", ".json", ".md", ".dump", ".gz", ".icc"}


def pydicom_corpus() -> list[Path]:
    """Every file of pydicom's bundled data folders (listed directly, never downloaded)."""
    folders = [
        PYDICOM_DATA / "test_files",
        PYDICOM_DATA / "charset_files",
        PYDICOM_DATA / "palettes",
    ]
    return sorted(
        path
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix not in _NOT_DICOM_SUFFIXES
        and "__pycache__" not in path.parts
    )
