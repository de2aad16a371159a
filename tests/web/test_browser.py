"""The browser view, loaded by headless Chromium (installed by scripts/setup/50-chromium.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mintstore.client import MintClient
from mintstore.testing.mint_server import ServerProcess

from .data import RI_STUDY_UID, ri_dicom_files

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _render(url: str, profile: Path) -> str:
    """The DOM Chromium builds for ``url``, as HTML text."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run scripts/setup/50-chromium.sh")
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        timeout=90,
        check=True,
    )
    return result.stdout.decode()


def test_index_and_study_page_in_a_browser(server: ServerProcess, tmp_path: Path) -> None:
    client = MintClient(server.url)
    client.push_files(ri_dicom_files())
    client.close()
    index = _render(server.url + "/", tmp_path / "profile-index")
    assert "<h1>mintstore</h1>" in index
    assert f"/studies/{RI_STUDY_UID}" in index and "JM8-ECG-TEST" in index
    page = _render(f"{server.url}/studies/{RI_STUDY_UID}", tmp_path / "profile-study")
    assert f"Study {RI_STUDY_UID}" in page
    assert "JM8-ECG-TEST" in page and "20 phase" in page
    assert page.count('<td class="count">2</td>') == 2  # two series of two instances
    assert "/DICOM/metadata" in page
