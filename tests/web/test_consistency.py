"""Responses started before a concurrent commit finish with the old version's bytes.

The app runs in-process over a file store and each response is consumed by
hand: headers and the first chunk, then another writer on the same bucket
appends an instance and deletes the study, then the rest. A Range read, a
multi-item stream and a ZIP must each finish with exactly the content (and
ETag) of the version they started on.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mintstore.store import Actor, StudyStore, open_study_store
from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.web import ServerConfig, create_app

ACTOR = Actor("writer")


@pytest.fixture
def bucket(tmp_path: Path) -> str:
    (tmp_path / "store").mkdir()
    return (tmp_path / "store").as_uri()


@pytest.fixture
def app(bucket: str) -> Flask:
    return create_app(ServerConfig(store_url=bucket))


@pytest.fixture
def writer(bucket: str) -> Iterator[StudyStore]:
    store = open_study_store(bucket)
    yield store
    store.close()


def _ingest(store: StudyStore, paths: list[Path]) -> None:
    with store.begin_ingest() as session:
        for path in paths:
            with path.open("rb") as stream:
                session.add_part10(stream)
        session.commit(ACTOR)


def _study(writer: StudyStore, folder: Path) -> SyntheticSeries:
    series = write_ct_series(folder, 3, rows=128, columns=128, seed=5)
    _ingest(writer, series.paths)
    return series


def _extra_instance(series: SyntheticSeries, folder: Path) -> Path:
    """One more instance of the same study and series (new SOP UID, other pixels)."""
    dataset = pydicom.dcmread(series.paths[0])
    dataset.SOPInstanceUID = f"2.25.{uuid.uuid4().int}"
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PixelData = bytes(reversed(dataset.PixelData))
    path = folder / "extra.dcm"
    dataset.save_as(path)
    return path


def _start(
    app: Flask, path: str, headers: dict[str, str]
) -> tuple[Iterator[bytes], str, dict[str, str]]:
    environ = EnvironBuilder(path=path, headers=list(headers.items())).get_environ()
    body, status, response_headers = run_wsgi_app(app, environ, buffered=False)
    return iter(body), status, dict(response_headers)


def _commit_meanwhile(writer: StudyStore, series: SyntheticSeries, folder: Path) -> None:
    _ingest(writer, [_extra_instance(series, folder)])
    writer.delete(series.study_instance_uid, ACTOR)


def test_range_read_survives_a_concurrent_commit(
    app: Flask, writer: StudyStore, tmp_path: Path
) -> None:
    series = _study(writer, tmp_path)
    uid = series.study_instance_uid
    expected = writer.open_version(uid).read_item(0)
    digest = writer.open_version(uid).item_digest(0)
    body, status, headers = _start(
        app, f"/studies/{uid}/DICOM/binaryitems/0", {"Range": "bytes=100-20099"}
    )
    assert status.startswith("206")
    etag = headers["ETag"]
    _commit_meanwhile(writer, series, tmp_path)
    assert b"".join(body) == expected[100:20100]
    # The item is named by its digest: the same validator in every version.
    assert etag == f'"{digest}"'


def test_multi_item_stream_survives_a_concurrent_commit(
    app: Flask, writer: StudyStore, tmp_path: Path
) -> None:
    series = _study(writer, tmp_path)
    uid = series.study_instance_uid
    old = writer.open_version(uid)
    items = [old.read_item(bid) for bid in old.item_ids()]
    body, status, headers = _start(app, f"/studies/{uid}/DICOM/binaryitems/all", {})
    assert status.startswith("200") and headers["ETag"] == '"0"'
    first = next(body)
    _commit_meanwhile(writer, series, tmp_path)
    data = first + b"".join(body)
    assert len(data) == int(headers["Content-Length"])
    for item in items:
        assert item in data
    assert data.count(b"Content-ID:") == len(items)


def test_zip_survives_a_concurrent_commit(app: Flask, writer: StudyStore, tmp_path: Path) -> None:
    series = _study(writer, tmp_path)
    uid = series.study_instance_uid
    body, status, headers = _start(app, f"/studies/{uid}", {"Accept": "application/zip"})
    assert status.startswith("200") and headers["ETag"] == '"0"'
    first = next(body)
    _commit_meanwhile(writer, series, tmp_path)
    archive = zipfile.ZipFile(io.BytesIO(first + b"".join(body)))
    names = sorted(archive.namelist())
    assert names == sorted(
        f"{series.series_instance_uid}/{sop}.dcm" for sop in series.sop_instance_uids
    )
    for path, sop in zip(series.paths, series.sop_instance_uids, strict=True):
        original = pydicom.dcmread(path)
        rebuilt = pydicom.dcmread(
            io.BytesIO(archive.read(f"{series.series_instance_uid}/{sop}.dcm"))
        )
        assert rebuilt.PixelData == original.PixelData


def test_after_the_commits_the_study_is_gone(
    app: Flask, writer: StudyStore, tmp_path: Path
) -> None:
    series = _study(writer, tmp_path)
    uid = series.study_instance_uid
    client = app.test_client()
    assert client.get(f"/studies/{uid}/DICOM/metadata.gpb?version=0").status_code == 200
    immutable = client.get(f"/studies/{uid}/DICOM/metadata.gpb?version=0").headers
    assert "immutable" in immutable["Cache-Control"] and immutable["ETag"] == '"0"'
    _commit_meanwhile(writer, series, tmp_path)
    assert client.get(f"/studies/{uid}").status_code == 410
    assert client.get(f"/studies/{uid}/DICOM/metadata.gpb?version=0").status_code == 410
    assert client.get(f"/studies/{uid}/DICOM/metadata.gpb?version=1").status_code == 410
