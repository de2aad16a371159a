"""DICOM -> MINT -> DICOM over every file of pydicom's corpus and the RI's samples.

Every file is a test of its own. Expectations are explicit, never silent:
files pydicom cannot read, truncated files (which must be rejected), files
without the UIDs MINT needs (round-tripped with stand-in UIDs), and files that
come back element-equal but not byte-identical, each with its reason. All
others must come back byte-identical.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from mintstore.convert.roundtrip import PYDICOM_DATA, pydicom_corpus, roundtrip_file
from mintstore.errors import InvalidDicom
from tests.shared_data import ri_testdata

NOT_READABLE_BY_PYDICOM = {
    "test_files/dicomdirtests/TINY_ALPHA/README": "a text file, not DICOM",
    "test_files/no_meta.dcm": "starts with a stray byte; pydicom (even with force) reads 1 element",
}

TRUNCATED = {
    "test_files/MR_truncated.dcm": "PixelData cut short (8130 of 8192 bytes)",
    "test_files/rtplan_truncated.dcm": "a value cut short (29 of 50 bytes)",
}

_NO_UIDS = "lacks Study/Series/SOP Instance UID (needed to place it in a MINT study)"
WITHOUT_UIDS = {
    name: _NO_UIDS
    for name in [
        "charset_files/chrSQEncoding.dcm",
        "charset_files/chrSQEncoding1.dcm",
        "palettes/fall.dcm",
        "palettes/hotiron.dcm",
        "palettes/hotmetalblue.dcm",
        "palettes/pet.dcm",
        "palettes/pet20step.dcm",
        "palettes/spring.dcm",
        "palettes/summer.dcm",
        "palettes/winter.dcm",
        "test_files/JPEGLSNearLossless_08.dcm",
        "test_files/JPEGLSNearLossless_16.dcm",
        "test_files/SC_rgb_jls_lossy_line.dcm",
        "test_files/SC_rgb_jls_lossy_sample.dcm",
        "test_files/UN_sequence.dcm",
        "test_files/dicomdirtests/DICOMDIR",
        "test_files/dicomdirtests/DICOMDIR-bigEnd",
        "test_files/dicomdirtests/DICOMDIR-empty.dcm",
        "test_files/dicomdirtests/DICOMDIR-implicit",
        "test_files/dicomdirtests/DICOMDIR-nooffset",
        "test_files/dicomdirtests/DICOMDIR-nopatient",
        "test_files/dicomdirtests/DICOMDIR-reordered",
        "test_files/dicomdirtests/TINY_ALPHA/DICOMDIR",
        "test_files/empty_charset_LEI.dcm",
        "test_files/meta_missing_tsyntax.dcm",
        "test_files/nested_priv_SQ.dcm",
        "test_files/no_meta_group_length.dcm",
        "test_files/priv_SQ.dcm",
    ]
}

NOT_BYTE_IDENTICAL = {
    "test_files/image_dfl.dcm": "deflate stream compressed differently (same inflated bytes)",
    "test_files/SC_rgb_jpeg.dcm": "elements written implicit VR although the syntax says explicit",
    "test_files/rtdose_rle.dcm": "pydicom reads empty UN elements with their dictionary VR",
    "test_files/rtdose_rle_1frame.dcm": "pydicom reads empty UN elements with their dictionary VR",
    "DICOM_MINT_SQ/2.16.840.1.114255.187086712.1704407169.30043.44.00004461237.dcm": (
        "its file meta group length is wrong (118 for 116 bytes); we write the real one"
    ),
}

#: Byte-identical files measured when this test was written: must not regress.
MEASURED_IDENTICAL = 161


def _ri_files() -> list[Path]:
    root = ri_testdata()
    return sorted((root / "DICOM").glob("*.dcm")) + sorted((root / "DICOM_MINT_SQ").glob("*.dcm"))


def _name(path: Path) -> str:
    try:
        return str(path.relative_to(PYDICOM_DATA))
    except ValueError:
        return f"{path.parent.name}/{path.name}"


def _all_files() -> list[Path]:
    # Collected at import; the RI files need the shared data (fails clearly if absent).
    return pydicom_corpus() + _ri_files()


ALL_FILES = _all_files()


def test_corpus_is_complete() -> None:
    """Guard against a listing change silently dropping files from the round trip."""
    assert len(pydicom_corpus()) >= 150
    names = {_name(p) for p in ALL_FILES}
    for table in (NOT_READABLE_BY_PYDICOM, TRUNCATED, WITHOUT_UIDS, NOT_BYTE_IDENTICAL):
        assert set(table) <= names, set(table) - names


@pytest.mark.parametrize("path", ALL_FILES, ids=_name)
def test_roundtrip(path: Path) -> None:
    name = _name(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the corpus' deliberate oddities
        if name in NOT_READABLE_BY_PYDICOM or name in TRUNCATED:
            with pytest.raises(InvalidDicom):
                roundtrip_file(path)
            return
        result = roundtrip_file(path, inject_uids=name in WITHOUT_UIDS)
    assert result.differences == []
    if name in WITHOUT_UIDS:
        assert result.status == "uids-injected"
    elif name in NOT_BYTE_IDENTICAL:
        assert result.status == "equal", "now byte-identical: remove it from the table"
    else:
        assert result.status == "identical", f"bytes differ at {result.first_byte_difference}"


def test_identical_count_does_not_regress() -> None:
    excluded = set(NOT_READABLE_BY_PYDICOM) | set(TRUNCATED) | set(WITHOUT_UIDS)
    expected_identical = [
        p for p in ALL_FILES if _name(p) not in excluded and _name(p) not in NOT_BYTE_IDENTICAL
    ]
    assert len(expected_identical) >= MEASURED_IDENTICAL
