"""The real DICOM data the HTTP tests send: the RI's samples and pydicom's files."""

from __future__ import annotations

from pathlib import Path

import pydicom

from tests.shared_data import ri_testdata

RI_STUDY_UID = "1.2.392.200036.9116.2.2.2.1762893313.1029997326.945873"
RI_MINT_SAMPLE = "MINT/7cc45edf-d5a6-4264-b8ae-1d24d857f04b/DICOM"


def ri_data() -> Path:
    """The MINT reference implementation's conformance data (located by tests.shared_data)."""
    return ri_testdata()


def ri_dicom_files() -> list[Path]:
    """The RI's four CT instances (one study, two series)."""
    return sorted((ri_data() / "DICOM").glob("*.dcm"))


def pydicom_test_files() -> Path:
    """pydicom's bundled test files (listed directly: never the downloading helpers)."""
    return Path(pydicom.__file__).parent / "data" / "test_files"
