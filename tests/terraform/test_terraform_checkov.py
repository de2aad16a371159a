"""checkov finds no failed check in any module or example, and every skip is explained.

checkov runs once over terraform/ (the examples pull the modules in, so module
resources are checked as the examples instantiate them) from its own venv,
offline (--skip-download).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .terraform_hcl import TERRAFORM_ROOT, tool


def _run_checkov(directory: Path) -> dict[str, Any]:
    checkov = tool("checkov-venv/bin/checkov")
    completed = subprocess.run(
        [
            str(checkov),
            "-d",
            str(directory),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
            "--soft-fail",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, f"checkov did not run: {completed.stderr[-2000:]}"
    report = json.loads(completed.stdout)
    # One framework gives one report object; several would give a list.
    reports = report if isinstance(report, list) else [report]
    (terraform_report,) = [r for r in reports if r.get("check_type") == "terraform"]
    result: dict[str, Any] = terraform_report
    return result


@pytest.fixture(scope="module")
def report() -> Iterator[dict[str, Any]]:
    yield _run_checkov(TERRAFORM_ROOT)


def _config_dir(file_path: str) -> Path:
    # checkov reports paths relative to the scanned directory, with a leading '/'.
    return (TERRAFORM_ROOT / file_path.lstrip("/")).parent


def test_no_failed_checks(report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']}): "
        f"{c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0


def test_every_directory_was_scanned(report: dict[str, Any]) -> None:
    results = report["results"]
    scanned = {
        _config_dir(c["file_path"]) for c in results["passed_checks"] + results["skipped_checks"]
    }
    # Only directories holding something checkov has a policy for show up in its
    # results: openstack_objectstorage_container_v1 and azurerm_resource_group have none,
    # so the Swift module and the Azure example cannot be asserted this way.
    expected = {
        TERRAFORM_ROOT / "modules" / "aws-s3-store",
        TERRAFORM_ROOT / "modules" / "azure-blob-store",
        TERRAFORM_ROOT / "examples" / "aws",
        TERRAFORM_ROOT / "examples" / "openstack",
    }
    assert expected <= scanned, f"not scanned: {sorted(map(str, expected - scanned))}"


def test_every_skipped_check_is_explained_in_the_readme(report: dict[str, Any]) -> None:
    skipped = report["results"]["skipped_checks"]
    assert skipped, "expected the documented skips (e.g. CKV_AWS_144) to be reported"
    for check in skipped:
        directory = _config_dir(check["file_path"])
        readme = (directory / "README.md").read_text(encoding="utf-8")
        assert check["check_id"] in readme, (
            f"{check['check_id']} is skipped in {directory} but not listed in its README.md"
        )
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) > 20, f"{check['check_id']} skipped without a real reason"


def test_checkov_flags_an_insecure_bucket(tmp_path: Path) -> None:
    # Proves the scan really evaluates checks offline instead of passing vacuously.
    (tmp_path / "main.tf").write_text(
        'resource "aws_s3_bucket" "open" {\n  bucket = "wide-open"\n}\n'
        'resource "aws_s3_bucket_acl" "open" {\n'
        "  bucket = aws_s3_bucket.open.id\n"
        '  acl    = "public-read-write"\n}\n'
    )
    failed = {c["check_id"] for c in _run_checkov(tmp_path)["results"]["failed_checks"]}
    assert "CKV_AWS_21" in failed  # versioning
    assert "CKV2_AWS_6" in failed  # public access block
