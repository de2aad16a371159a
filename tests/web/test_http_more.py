"""More upload shapes, search paging, RI aliases and the maintenance/search/copy commands."""

from __future__ import annotations

import http.client
import io
import shutil
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pydicom
import pytest
from lxml import etree

from mintstore import formats
from mintstore.cli import main
from mintstore.client import MintClient
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess

from .data import pydicom_test_files

NS = "{http://medical.nema.org/mint}"


def _post(server: ServerProcess, body: bytes, content_type: str) -> tuple[int, bytes]:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    connection.request("POST", "/studies/create", body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def test_single_dicom_body_and_form_data_part10(server: ServerProcess) -> None:
    single = pydicom_test_files() / "CT_small.dcm"
    status, body = _post(server, single.read_bytes(), "application/dicom")
    assert status == 201
    created = etree.fromstring(body).find(f"{NS}study")
    assert created is not None
    assert created.get("studyUUID") == pydicom.dcmread(single).StudyInstanceUID
    # curl -F style: files with a name and filename, octet-stream, told apart by their DICM magic.
    mr = pydicom_test_files() / "MR_small.dcm"
    form = (
        b'--f0rm\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + mr.read_bytes() + b"\r\n--f0rm--\r\n"
    )
    status, body = _post(server, form, "multipart/form-data; boundary=f0rm")
    assert status == 201, body
    uid = pydicom.dcmread(mr).StudyInstanceUID
    stored = MintClient(server.url).metadata(uid)
    assert stored.instance_count == 1


@pytest.mark.parametrize("variant", ["gpb", "gpb.gz", "json.gz", "xml.gz"])
def test_mint_parts_in_every_metadata_format(server: ServerProcess, variant: str) -> None:
    client = MintClient(server.url)
    original_uid = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm").StudyInstanceUID
    source = client.metadata(original_uid)
    uid = f"1.2.826.0.1.3680043.9.7133.5{len(variant)}{variant.count('.')}"
    source.study_instance_uid = uid
    source.attributes[0x0020000D].val = uid
    items = {bid: client.binary_item(original_uid, bid) for bid in source.referenced_bids()}
    fmt, gzipped = formats.parse_variant("metadata." + variant)
    document = formats.encode(source, fmt, gzip=gzipped)
    body = io.BytesIO()
    body.write(
        "--mp\r\nContent-Disposition: form-data; "
        f'name="metadata"; filename="metadata7.{variant}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    body.write(document)
    for bid, data in items.items():
        body.write(
            "\r\n--mp\r\nContent-Disposition: form-data; "
            f'name="binary{bid}"; filename="b"\r\n\r\n'.encode()
        )
        body.write(data)
    body.write(b"\r\n--mp--\r\n")
    status, reply = _post(server, body.getvalue(), "multipart/form-data; boundary=mp")
    assert status == 201, reply
    stored = client.metadata(uid)
    assert stored.instance_count == 1
    assert {b: client.binary_item(uid, b) for b in stored.referenced_bids()} == items


def test_search_pages_with_continuation_and_aliases(server: ServerProcess, tmp_path: Path) -> None:
    client = MintClient(server.url)
    uids = set()
    for index in range(3):
        series = write_ct_series(tmp_path / str(index), 1, rows=8, columns=8, seed=index)
        client.push_files(sorted((tmp_path / str(index)).glob("*.dcm")))
        uids.add(series.study_instance_uid)
    everything = [hit.study_uid for hit in client.search()]
    paged, token, pages = [], "", 0
    while True:
        query = "/studies?limit=2" + (f"&continuation={token}" if token else "")
        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        connection.request("GET", query)
        root = etree.fromstring(connection.getresponse().read())
        connection.close()
        paged += [node.get("studyUUID") for node in root.iter(f"{NS}study")]
        pages += 1
        token = root.get("continuation", "")
        if not token:
            break
    assert paged == everything and pages >= 2 and uids <= set(everything)
    assert len(set(paged)) == len(paged)
    uid = sorted(uids)[0]
    log = client.changelog(uid)
    with urllib_get(server, f"/studies/{uid}/DICOM/changeLog") as alias:
        assert [dict(n.attrib) for n in etree.fromstring(alias.read()).iter(f"{NS}change")] == log


class urllib_get:
    """GET a path of the server; a context manager over the response."""

    def __init__(self, server: ServerProcess, path: str) -> None:
        parts = urlsplit(server.url)
        self._connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
        self._connection.request("GET", path)
        self._response = self._connection.getresponse()

    def __enter__(self) -> http.client.HTTPResponse:
        return self._response

    def __exit__(self, *exc_info: object) -> None:
        self._connection.close()


def _fresh_ct(directory: Path) -> Path:
    """One synthetic CT slice with UIDs no other test uses."""
    return write_ct_series(directory, 1, rows=16, columns=16, seed=3).paths[0]


def test_client_reads_every_representation(server: ServerProcess, tmp_path: Path) -> None:
    path = _fresh_ct(tmp_path)
    ct = pydicom.dcmread(path)
    client = MintClient(server.url)
    client.push_files([path])
    uid = ct.StudyInstanceUID
    assert client.types() == ["DICOM"]
    assert client.summary(uid).instance_count == 0
    assert list(client.series(uid, ct.SeriesInstanceUID).series) == [ct.SeriesInstanceUID]
    assert client.change_payload(uid, 0).instance_count == 1
    parts = dict(client.whole_study(uid))
    assert formats.decode(parts[f"metadata@{uid}"], "xml").instance_count == 1
    assert parts[f"0@{uid}"] == ct.PixelData or any(v == ct.PixelData for v in parts.values())
    archive = io.BytesIO()
    client.study_zip(uid, archive)
    with zipfile.ZipFile(archive) as opened:
        (name,) = opened.namelist()
        assert pydicom.dcmread(io.BytesIO(opened.read(name))).PixelData == ct.PixelData
    assert client.reports(uid) == []


def test_search_copy_and_maintenance_commands(
    server: ServerProcess, store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = MintClient(server.url)
    path = _fresh_ct(tmp_path / "ct")
    ct = pydicom.dcmread(path)
    client.push_files([path])
    capsys.readouterr()
    assert main(["search", "--url", server.url, f"studyInstanceUID={ct.StudyInstanceUID}"]) == 0
    assert capsys.readouterr().out.startswith(ct.StudyInstanceUID + "\t")
    assert main(["search", "--url", server.url, "bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err
    with ServerProcess("memory://copy-target") as other:
        assert main(["copy", ct.StudyInstanceUID, other.url, "--url", server.url]) == 0
        assert "action=copy" in capsys.readouterr().out
        assert MintClient(other.url).metadata(ct.StudyInstanceUID).instance_count == 1
    # Maintenance runs on the bucket itself (a copy of it, so the server keeps its own).
    bucket = tmp_path / "bucket"
    shutil.copytree(store_dir, bucket)
    assert main(["verify", "--store", bucket.as_uri()]) == 0
    assert "0 problems" in capsys.readouterr().out
    assert main(["reindex", "--store", bucket.as_uri()]) == 0
    assert main(["gc", "--store", bucket.as_uri(), "--grace-hours", "0"]) == 0
    assert main(["verify", "--store", bucket.as_uri()]) == 0
    # A flipped byte in a stored blob is reported, and verify fails.
    blob = max(
        (p for p in (bucket / "blobs").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size
    )
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify", "--store", bucket.as_uri()]) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_re_pushing_an_identical_file_changes_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    path = tmp_path / "MR_small.dcm"
    shutil.copy(pydicom_test_files() / "MR_small.dcm", path)
    client = MintClient(server.url)
    client.push_files([path])
    (again,) = client.push_files([path])
    assert (again.created, again.changed) == (False, False)


def test_a_whole_study_message_can_be_posted_to_another_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    series = write_ct_series(tmp_path, 3, rows=16, columns=16, seed=9)
    client = MintClient(server.url)
    client.push_files(series.paths)
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    connection.request(
        "GET", f"/studies/{series.study_instance_uid}", headers={"Accept": "multipart/related"}
    )
    response = connection.getresponse()
    message, content_type = response.read(), response.getheader("Content-Type", "")
    connection.close()
    with ServerProcess("memory://whole-study-target") as other:
        status, body = _post(other, message, content_type)
        assert status == 201, body
        copy = MintClient(other.url)
        assert copy.metadata(series.study_instance_uid).instance_count == 3
        for bid in client.metadata(series.study_instance_uid).referenced_bids():
            assert copy.binary_item(series.study_instance_uid, bid) == client.binary_item(
                series.study_instance_uid, bid
            )
