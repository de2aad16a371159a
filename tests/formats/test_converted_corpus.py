"""Identities over real conversions: every file of pydicom's corpus and the
RI's DICOM files, converted by the StudyBuilder, must survive XML, GPB and
JSON (plain and gzipped) unchanged, and the three formats must agree."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from mintstore import formats
from mintstore.convert import StudyBuilder, read_part10
from mintstore.convert.roundtrip import PYDICOM_DATA, STAND_IN_UIDS, pydicom_corpus
from mintstore.errors import InvalidDicom
from mintstore.model import Study
from mintstore.synthetic import write_ct_series
from tests.convert.test_roundtrip_corpus import NOT_READABLE_BY_PYDICOM, TRUNCATED
from tests.shared_data import ri_testdata

from .test_roundtrip import assert_identities

CORPUS = pydicom_corpus()


def _name(path: Path) -> str:
    return str(path.relative_to(PYDICOM_DATA))


def _with_uids(ds: Dataset) -> Dataset:
    """Files without the UIDs MINT needs get stand-ins (their content is what we test)."""
    for tag, (keyword, uid) in STAND_IN_UIDS.items():
        if tag not in ds or not str(ds[tag].value or "").strip():
            setattr(ds, keyword, uid)
    return ds


def _convert(paths: list[Path]) -> Study:
    builder = StudyBuilder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the corpus' deliberate oddities
        for path in paths:
            builder.add_dataset(_with_uids(read_part10(path.read_bytes())))
    return builder.study


@pytest.mark.parametrize("path", CORPUS, ids=_name)
def test_converted_pydicom_file_survives_every_format(path: Path) -> None:
    name = _name(path)
    if name in NOT_READABLE_BY_PYDICOM or name in TRUNCATED:
        with pytest.raises(InvalidDicom):  # the converter refuses it: nothing to encode
            _convert([path])
        return
    assert_identities(_convert([path]))


def test_ri_study_converted_by_us_survives_every_format() -> None:
    study = _convert(sorted((ri_testdata() / "DICOM").glob("*.dcm")))
    assert study.instance_count == 4 and all(s.normalized_attributes for s in study.series.values())
    assert_identities(study)
    sq = _convert(sorted((ri_testdata() / "DICOM_MINT_SQ").glob("*.dcm")))
    assert_identities(sq)


def test_multi_instance_series_with_normalization_survives(tmp_path: Path) -> None:
    series = write_ct_series(tmp_path, 12, rows=16, columns=16, seed=1)
    study = _convert(sorted(tmp_path.glob("*.dcm")))
    assert study.instance_count == 12 and series is not None
    assert_identities(study)
    # a summary still decodes and keeps every series' attributes
    summary = formats.decode(formats.encode_summary(study, "gpb", gzip=True), "gpb")
    assert {uid: s.attributes for uid, s in summary.series.items()} == {
        uid: s.attributes for uid, s in study.series.items()
    }
