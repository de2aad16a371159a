"""Orthanc (its DICOMweb plugin's ``Servers``) pushes to and pulls from mintstore.

Orthanc binds 0.0.0.0, so the scenario (mintstore, Orthanc and the checks)
runs in a private network namespace of its own; see orthanc_scenario.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mintstore.testing.orthanc import python_module_argv, run_in_private_network

from .corpus import MULTI
from .orthanc_scenario import RETRIEVED

REPO = Path(__file__).resolve().parents[2]


def test_orthanc_stows_to_and_retrieves_from_mintstore(tmp_path: Path) -> None:
    if shutil.which("Orthanc") is None:
        pytest.fail("Orthanc is not installed: run scripts/setup/60-dicom-peers.sh")
    argv = python_module_argv("tests.dicomweb.orthanc_scenario", str(tmp_path))
    done = run_in_private_network(argv, timeout=300, cwd=REPO)
    log = done.stderr.decode(errors="replace")[-3000:]
    assert done.returncode == 0, log
    report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    pushed = report["pushed"]
    assert len(pushed) == len(MULTI), report
    assert all(problems == [] for problems in pushed.values()), pushed
    retrieved = report["retrieved"]
    assert set(retrieved) == set(RETRIEVED), report
    assert all(problems == [] for problems in retrieved.values()), retrieved
