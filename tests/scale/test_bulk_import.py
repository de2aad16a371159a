"""``mintstore import`` on a real Dask local cluster: scattered studies, junk and
truncated files, a re-run that sends nothing, and an interrupted run resumed."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mintstore.adapters.filesystem import FileStore
from mintstore.bulk.cluster import ClusterOptions
from mintstore.bulk.importer import ImportOptions, run_import
from mintstore.store import SearchQuery, StoreConfig, StudyStore
from mintstore.store.modelops import instance_uids
from mintstore.testing.archive import Archive, make_archive

from .test_partitioned_index import all_pages


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("archive") / "tree"
    return make_archive(root, studies=12, instances=6, junk=5, truncated=4)


def _check_store(url_root: Path, archive: Archive) -> None:
    store = StudyStore(FileStore(url_root))
    assert set(all_pages(store, SearchQuery())) == set(archive.studies)
    for uid, sops in archive.studies.items():
        assert {sop for _, sop in instance_uids(store.metadata(uid))} == set(sops)


def test_import_on_two_workers_then_a_rerun_sends_nothing(
    archive: Archive, tmp_path: Path, dask_scheduler: str
) -> None:
    target = tmp_path / "store"
    url = f"file://{target}"
    report = tmp_path / "report.csv"
    options = ImportOptions(report=report, scan_cache=tmp_path / "scan.parquet", progress=False)
    cluster = ClusterOptions(scheduler=dask_scheduler)  # two workers, shared by the module
    lines: list[str] = []
    summary = run_import(str(archive.root), url, {}, StoreConfig(), cluster, options, lines.append)
    assert lines and lines[0].startswith("dask dashboard: http://127.0.0.1:")  # loopback only
    assert summary.studies == len(archive.studies)
    assert summary.added == archive.dicom_files
    assert summary.refused["NotDicom"] == archive.junk_files
    # A truncated copy is refused when tried before its intact twin, and not
    # even read when the twin came first.
    assert summary.refused["InvalidDicom"] + summary.skipped == archive.truncated_files
    with report.open() as stream:
        rows = list(csv.DictReader(stream))
    assert sum(1 for r in rows if r["kind"] == "study") == len(archive.studies)
    assert {r["reason"].split(":")[0] for r in rows if r["kind"] == "refused"} >= {"NotDicom"}
    _check_store(target, archive)
    again = run_import(str(archive.root), url, {}, StoreConfig(), cluster, options, lines.append)
    assert again.added == 0 and again.bytes_sent == 0
    assert again.skipped == archive.dicom_files + archive.truncated_files
    # a truncated copy of a stored instance is skipped by SOP UID, never read again
    assert sum(again.refused.values()) == archive.junk_files


def test_an_import_killed_half_way_is_finished_by_running_it_again(
    archive: Archive, tmp_path: Path
) -> None:
    target = tmp_path / "store"
    command = [
        sys.executable,
        "-m",
        "mintstore.cli",
        "import",
        str(archive.root),
        "--store",
        f"file://{target}",
        "--workers",
        "1",
        "--quiet",
        "--scan-cache",
        str(tmp_path / "scan.parquet"),
    ]
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    log = target / "studies"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        committed = len(list(log.glob("*/log/*.json"))) if log.exists() else 0
        if committed >= len(archive.studies) // 3:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    done = subprocess.run(
        [*command, "--report", str(tmp_path / "r.csv")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # junk and truncated files are refused
    with (tmp_path / "r.csv").open() as stream:
        studies = [r for r in csv.DictReader(stream) if r["kind"] == "study"]
    resent = sum(int(r["added"]) for r in studies)
    assert 0 < resent < archive.dicom_files, "only what the killed run had not committed"
    _check_store(target, archive)
