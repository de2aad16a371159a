"""Where the shared test data lives (the RI's samples, the spec).

CI clones the repository with ``shared/`` beside it; developers may have it
elsewhere. One place decides, in this order: ``$MINTSTORE_SHARED``,
``<repo>/../shared``, ``/work/shared``. A test needing the data fails with a
clear message (not a skip) when none exists, so missing data is never
mistaken for a pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared data directory; fails the calling test if it cannot be found."""
    candidates = []
    if os.environ.get("MINTSTORE_SHARED"):
        candidates.append(Path(os.environ["MINTSTORE_SHARED"]))
    candidates += [REPO.parent / "shared", Path("/work/shared")]
    for candidate in candidates:
        if (candidate / "mint-ri-testdata").is_dir():
            return candidate
    pytest.fail(
        "shared test data not found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + "); set MINTSTORE_SHARED to the directory holding mint-ri-testdata/"
    )


def ri_testdata() -> Path:
    """The RI's conformance data (``mint-ri-testdata``)."""
    return shared_dir() / "mint-ri-testdata"
