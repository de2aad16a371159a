"""End to end through the command line: push a folder, pull it back, on every server backend.

Also: two server processes (and gunicorn workers) on one bucket see each
other's writes at once, and structured reports are served as content trees.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pydicom
import pytest

from mintstore.cli import main
from mintstore.client import MintClient
from mintstore.testing.backends import BackendPool
from mintstore.testing.mint_server import ServerProcess

from .data import RI_STUDY_UID, pydicom_test_files, ri_dicom_files
from .test_http_api import _chunked_post_with_expect, _ri_form_body, _ri_mint_upload


def _same_dataset(a: pydicom.Dataset, b: pydicom.Dataset) -> bool:
    return set(a.keys()) == set(b.keys()) and all(a[tag] == b[tag] for tag in a.keys())  # noqa: SIM118


@pytest.mark.parametrize("backend", ["file", "moto-server", "azurite", "swift"])
def test_push_folder_then_pull_gives_the_originals(
    backend: str, backend_pool: BackendPool, tmp_path: Path
) -> None:
    spec = backend_pool.get(backend).fresh()
    source = tmp_path / "in"
    nested = source / "nested"
    nested.mkdir(parents=True)
    files = ri_dicom_files()
    for index, path in enumerate(files):
        shutil.copy(path, (nested if index % 2 else source) / path.name)
    (source / "notes.txt").write_text("not DICOM")
    with ServerProcess(spec.url, environ=spec.environ) as server:
        status = main(["push", str(source), "--url", server.url, "--quiet"])
        assert status == 1  # one file was not DICOM, and push says so
        # Resumable by idempotency: a second push changes nothing.
        assert main(["push", str(source), "--url", server.url, "--quiet"]) == 1
        client = MintClient(server.url)
        assert client.study_version(RI_STUDY_UID) == 0
        assert main(["pull", RI_STUDY_UID, str(tmp_path / "out"), "--url", server.url]) == 0
        client.close()
    pulled = {p.stem: p for p in (tmp_path / "out").glob("*.dcm")}
    assert len(pulled) == len(files)
    for original_path in files:
        original = pydicom.dcmread(original_path)
        copy_path = pulled[original.SOPInstanceUID]
        if copy_path.read_bytes() != original_path.read_bytes():
            assert _same_dataset(original, pydicom.dcmread(copy_path))


def test_two_servers_on_one_bucket_see_each_other_at_once(tmp_path: Path) -> None:
    url = (tmp_path / "shared-bucket").as_uri()
    (tmp_path / "shared-bucket").mkdir()
    with ServerProcess(url) as first, ServerProcess(url) as second:
        writer, reader = MintClient(first.url), MintClient(second.url)
        writer.push_files(ri_dicom_files()[:2])
        assert reader.study_version(RI_STUDY_UID) == 0
        assert [h.study_uid for h in reader.search(patientID="JM8-ECG-TEST")] == [RI_STUDY_UID]
        writer.push_files(ri_dicom_files()[2:])
        assert reader.study_version(RI_STUDY_UID) == 1
        assert reader.metadata(RI_STUDY_UID).instance_count == 4
        writer.close()
        reader.close()


def test_gunicorn_workers_share_the_bucket(tmp_path: Path) -> None:
    url = (tmp_path / "gunicorn-bucket").as_uri()
    (tmp_path / "gunicorn-bucket").mkdir()
    with ServerProcess(url, workers=2) as server:
        # Fresh connections spread over both workers; every one sees each write.
        for index, path in enumerate(ri_dicom_files()):
            MintClient(server.url).push_files([path])
            for _ in range(4):
                client = MintClient(server.url)
                assert client.study_version(RI_STUDY_UID) == index
                hits = list(client.search(studyInstanceUID=RI_STUDY_UID))
                assert [h.version for h in hits] == [index]
                client.close()
        # gunicorn answers the RI client's chunked, Expect: 100-continue upload too.
        study, items = _ri_mint_upload("1.2.826.0.1.3680043.9.7133.80")
        body = _ri_form_body("gunicornRI", study, items, {})
        status, headers, _ = _chunked_post_with_expect(
            server, "/jobs/createstudy", body, "multipart/form-data; boundary=gunicornRI"
        )
        assert status == 303
        job = MintClient(server.url).job_status(headers["location"])
        assert job["jobStatus"] == "SUCCESS", job


def test_reports_are_served_as_content_trees(server: ServerProcess) -> None:
    report_file = pydicom_test_files() / "reportsi.dcm"
    dataset = pydicom.dcmread(report_file)
    client = MintClient(server.url)
    client.push_files([report_file])
    client.close()
    url = f"{server.url}/studies/{dataset.StudyInstanceUID}/DICOM/reports.json"
    with urllib.request.urlopen(url) as response:
        document = json.load(response)
    (report,) = document["reports"]
    assert report["sopInstanceUID"] == dataset.SOPInstanceUID
    assert report["href"].endswith(f"/{dataset.SeriesInstanceUID}/{dataset.SOPInstanceUID}")
    assert report["content"]["concept"] == "Document Title"
    concepts = [item.get("concept") for item in report["content"]["children"]]
    assert "Observation Context Mode" in concepts
    with urllib.request.urlopen(report["href"]) as response:
        assert response.headers["Content-Type"] == "application/dicom"
    with urllib.request.urlopen(url.replace("reports.json", "reports")) as response:
        assert b"<report " in response.read()
