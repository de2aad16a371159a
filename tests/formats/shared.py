"""Where the shared test data (MINT-SPEC, RI samples) lives.

CI clones the repository with ``shared/`` beside it; a developer machine has
it at /work/shared. ``MINTSTORE_SHARED`` overrides both. A missing directory
fails the test run loudly: these tests are never skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The shared data directory, or a test failure naming where we looked."""
    candidates = []
    override = os.environ.get("MINTSTORE_SHARED")
    if override:
        candidates.append(Path(override))
    else:
        candidates += [REPO_ROOT.parent / "shared", Path("/work/shared")]
    for candidate in candidates:
        if (candidate / "mint-ri-testdata").is_dir():
            return candidate
    pytest.fail(f"shared test data not found (looked in {', '.join(map(str, candidates))})")


def ri_testdata() -> Path:
    """The RI conformance samples (mint-ri-testdata)."""
    return shared_dir() / "mint-ri-testdata"
