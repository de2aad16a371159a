"""Where the HTTP tests find real DICOM data.

The shared RI data lives beside the repository in CI (``../shared``) and at
/work/shared on a developer machine; ``MINTSTORE_SHARED`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pydicom

REPO = Path(__file__).resolve().parents[2]
RI_STUDY_UID = "1.2.392.200036.9116.2.2.2.1762893313.1029997326.945873"
RI_MINT_SAMPLE = "MINT/7cc45edf-d5a6-4264-b8ae-1d24d857f04b/DICOM"


def shared_dir() -> Path:
    """The shared test data directory; fails clearly when it is missing."""
    candidates = [REPO.parent / "shared", Path("/work/shared")]
    if os.environ.get("MINTSTORE_SHARED"):
        candidates.insert(0, Path(os.environ["MINTSTORE_SHARED"]))
    for candidate in candidates:
        if (candidate / "mint-ri-testdata").is_dir():
            return candidate
    raise FileNotFoundError(
        "shared test data not found (set MINTSTORE_SHARED or put shared/ beside the repo)"
    )


def ri_data() -> Path:
    """The MINT reference implementation's conformance data."""
    return shared_dir() / "mint-ri-testdata"


def ri_dicom_files() -> list[Path]:
    """The RI's four CT instances (one study, two series)."""
    return sorted((ri_data() / "DICOM").glob("*.dcm"))


def pydicom_test_files() -> Path:
    """pydicom's bundled test files (listed directly: never the downloading helpers)."""
    return Path(pydicom.__file__).parent / "data" / "test_files"
