"""The MINT HTTP API over real HTTP: a ``mintstore serve`` process on loopback.

Covers create (Part-10 and MINT parts), the RI job flow (chunked,
Expect: 100-continue), reads of every kind, search, change logs, locks,
updates, delete and the RI's multi-item layout read line by line.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pydicom
import pytest
from lxml import etree

from mintstore import formats
from mintstore.client import MintClient, read_ri_multipart
from mintstore.errors import (
    InvalidInput,
    ItemNotFound,
    Locked,
    LockInvalid,
    StudyGone,
    StudyNotFound,
    VersionConflict,
)
from mintstore.formats.legacy import read_legacy
from mintstore.model import Attribute, Study
from mintstore.store import StudyStore
from mintstore.testing.mint_server import ServerProcess

from .data import RI_MINT_SAMPLE, RI_STUDY_UID, pydicom_test_files, ri_data, ri_dicom_files

NS = "{http://medical.nema.org/mint}"


def _connection(server: ServerProcess) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)


def _get(
    server: ServerProcess, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = _connection(server)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


@pytest.fixture(scope="module")
def ri_study(server: ServerProcess) -> str:
    """The RI's four CT files, sent once as multipart/related Part-10."""
    client = MintClient(server.url)
    results = client.push_files(ri_dicom_files())
    client.close()
    assert [(r.study_uid, r.version, r.created) for r in results] == [(RI_STUDY_UID, 0, True)]
    return RI_STUDY_UID


def test_head_root_answers_exactly_200(server: ServerProcess) -> None:
    connection = _connection(server)
    connection.request("HEAD", "/")
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    connection.close()


def test_study_root_search_and_resend_is_idempotent(
    server: ServerProcess, client: MintClient, ri_study: str
) -> None:
    status, headers, body = _get(server, f"/studies/{ri_study}")
    assert status == 200
    root = etree.fromstring(body)
    assert root.tag == f"{NS}studyRoot"
    assert root.get("studyUUID") == ri_study and root.get("version") == "0"
    assert [t.text for t in root.iter(f"{NS}type")] == ["DICOM"]
    assert headers["etag"] == '"0"'
    again = client.push_files(ri_dicom_files())
    assert [(r.version, r.created, r.changed) for r in again] == [(0, False, False)]
    # The RI client's exact query: patientID present but empty.
    status, _, body = _get(server, f"/studies?studyInstanceUID={ri_study}&patientID=")
    hits = etree.fromstring(body).findall(f"{NS}study")
    assert status == 200 and [(h.get("studyUUID"), h.get("version")) for h in hits] == [
        (ri_study, "0")
    ]
    assert [h.study_uid for h in client.search(PATIENTID="JM8-ECG-TEST")] == [ri_study]
    assert [h.study_uid for h in client.search(ModalityTypes="MR,CT")] == [ri_study]
    assert list(client.search(patientID="nobody")) == []
    status, headers, body = _get(
        server, "/studies/search?StudyUID=" + ri_study, {"Accept": "application/json"}
    )
    assert status == 200 and headers["content-type"].startswith("application/json")
    (hit,) = json.loads(body)["studySearchResults"]["studies"]
    assert (hit["studyUUID"], hit["version"]) == (ri_study, 0)
    status, _, body = _get(server, "/studies?patientID=nobody", {"Accept": "application/json"})
    assert json.loads(body) == {"studySearchResults": {"count": 0, "studies": []}}


@pytest.mark.parametrize("variant", ["", ".xml", ".xml.gz", ".gpb", ".gpb.gz", ".json", ".json.gz"])
def test_metadata_and_summary_variants(server: ServerProcess, ri_study: str, variant: str) -> None:
    fmt, gzipped = formats.parse_variant("metadata" + variant)
    status, headers, body = _get(server, f"/studies/{ri_study}/DICOM/metadata{variant}")
    assert status == 200
    assert headers["content-type"].split(";")[0] == formats.Variant(fmt, gzipped).content_type
    study = formats.decode(body, fmt, gzip=gzipped)
    assert study.study_instance_uid == ri_study and study.instance_count == 4
    status, _, body = _get(server, f"/studies/{ri_study}/DICOM/summary{variant}")
    summary = formats.decode(body, fmt, gzip=gzipped)
    assert status == 200 and summary.instance_count == 0 and len(summary.series) == 2


def test_binary_items_single_ranged_conditional_and_missing(
    server: ServerProcess, ri_study: str
) -> None:
    status, headers, item = _get(server, f"/studies/{ri_study}/DICOM/binaryitems/0.dat")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert int(headers["content-length"]) == len(item) == 512 * 512 * 2
    assert "chunked" not in headers.get("transfer-encoding", "")
    status, ranged_headers, part = _get(
        server, f"/studies/{ri_study}/DICOM/binaryitems/0", {"Range": "bytes=10-19"}
    )
    assert status == 206 and part == item[10:20]
    assert ranged_headers["content-range"] == f"bytes 10-19/{len(item)}"
    status, _, _ = _get(
        server, f"/studies/{ri_study}/DICOM/binaryitems/0", {"Range": "bytes=999999999-"}
    )
    assert status == 416
    status, _, body = _get(
        server, f"/studies/{ri_study}/DICOM/binaryitems/0", {"If-None-Match": headers["etag"]}
    )
    assert status == 304 and body == b""
    status, _, body = _get(server, f"/studies/{ri_study}/DICOM/binaryitems/99")
    assert status == 404 and b"99" in body
    status, _, _ = _get(server, f"/studies/{ri_study}/DICOM/binaryitems/0-99")
    assert status == 404


def test_binary_items_ri_layout_read_line_by_line(server: ServerProcess, ri_study: str) -> None:
    connection = _connection(server)
    connection.request("GET", f"/studies/{ri_study}/DICOM/binaryitems/all")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith(
        'multipart/x-mixed-replace; boundary="'
    )
    items = dict(read_ri_multipart(response))
    connection.close()
    assert sorted(items) == [0, 1, 2, 3]
    expected = {
        i: (ri_data() / RI_MINT_SAMPLE / "binaryitems" / f"{i}.dat").read_bytes() for i in range(4)
    }
    assert sorted(items.values()) == sorted(expected.values())
    # RFC 2046 flavour on request, and a comma/range selection.
    status, headers, body = _get(
        server, f"/studies/{ri_study}/DICOM/binaryitems/0-1,3", {"Accept": "multipart/related"}
    )
    assert status == 200 and headers["content-type"].startswith("multipart/related")
    assert b"\r\nContent-ID: <3@" + ri_study.encode() + b">\r\n" in body
    assert sorted(dict(read_ri_multipart(io.BytesIO(body)))) == [0, 1, 3]


def test_instance_series_zip_and_whole_study(server: ServerProcess, ri_study: str) -> None:
    original = pydicom.dcmread(ri_dicom_files()[0])
    series, sop = original.SeriesInstanceUID, original.SOPInstanceUID
    status, headers, body = _get(server, f"/studies/{ri_study}/{series}/{sop}")
    assert status == 200 and headers["content-type"] == "application/dicom"
    rebuilt = pydicom.dcmread(io.BytesIO(body))
    assert rebuilt.PixelData == original.PixelData and rebuilt.PatientID == original.PatientID
    status, _, body = _get(server, f"/studies/{ri_study}/{series}")
    assert status == 200
    assert list(formats.decode(body, "xml").series) == [series]
    status, headers, body = _get(server, f"/studies/{ri_study}", {"Accept": "application/zip"})
    assert status == 200 and headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert len(names) == 4
        member = pydicom.dcmread(io.BytesIO(archive.read(f"{series}/{sop}.dcm")))
        assert member.PixelData == original.PixelData
    status, headers, body = _get(server, f"/studies/{ri_study}", {"Accept": "multipart/related"})
    assert status == 200 and headers["content-type"].startswith("multipart/related")
    assert body.count(b"Content-ID: <") == 5  # metadata + four items


def test_reads_of_unknown_studies_and_bad_ids(server: ServerProcess) -> None:
    assert _get(server, "/studies/1.2.3.4.5")[0] == 404
    for bad in (
        "/studies/..%2F..%2Fetc",
        "/studies/abc",
        "/studies/1.2..3/DICOM/metadata",
        "/studies/" + "1" * 65,
    ):
        status, headers, body = _get(server, bad)
        assert status == 400, bad
        assert b"UID" in body
    status, headers, body = _get(server, "/studies/abc", {"Accept": "application/json"})
    assert status == 400 and headers["content-type"] == "application/json"
    assert b'"error": "InvalidUID"' in body


def test_search_refuses_unknown_parameters(server: ServerProcess) -> None:
    status, _, body = _get(server, "/studies?patientName=x")
    assert status == 400 and b"patientName" in body
    assert _get(server, "/studies?minStudyDate=2020-01-01")[0] == 400
    assert _get(server, "/studies?limit=abc")[0] == 400
    assert _get(server, "/changelog?bogus=1")[0] == 400


def _ri_mint_upload(study_uid: str | None = None) -> tuple[Study, dict[int, bytes]]:
    """The RI's stored sample study (pre-1.0 XML read by the legacy reader), optionally renamed."""
    sample = ri_data() / RI_MINT_SAMPLE
    study = read_legacy((sample / "metadata.xml").read_bytes())
    if study_uid is not None:
        study.study_instance_uid = study_uid
        study.attributes[0x0020000D].val = study_uid
    items = {int(p.stem): p.read_bytes() for p in (sample / "binaryitems").glob("*.dat")}
    return study, items


def _ri_form_body(
    boundary: str, study: Study, items: dict[int, bytes], fields: dict[str, str]
) -> bytes:
    """A body shaped like DICOM2MINT's: fields, metadata<digits>.xml, then binaryN."""
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    out.write(
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="metadata"; filename="metadata123.xml"\r\n'
        f"Content-Type: text/xml\r\n\r\n".encode()
    )
    out.write(formats.encode(study, "xml") + b"\r\n")
    for bid, data in sorted(items.items()):
        out.write(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="binary{bid}"; filename="binary{bid}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def _chunked_post_with_expect(
    server: ServerProcess, path: str, body: bytes, content_type: str
) -> tuple[int, dict[str, str], bytes]:
    """POST the way the RI's Java client does: chunked, Expect: 100-continue, wait for 100."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        for start in range(0, len(body), 65536):
            chunk = body[start : start + 65536]
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        reply = b""
        while data := sock.recv(65536):
            reply += data
    reply = interim.split(b"\r\n\r\n", 1)[1] + reply
    assert not reply.startswith(b"HTTP/1.1 1")  # exactly one interim response
    status_line, _, rest = reply.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.decode().split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, payload


def test_ri_job_create_then_update_through_the_job_api(
    server: ServerProcess, client: MintClient
) -> None:
    # A separate study UID, so this test does not depend on the Part-10 one.
    study, items = _ri_mint_upload("1.2.826.0.1.3680043.9.7133.77")
    body = _ri_form_body("RIboundary42", study, items, {})
    status, headers, _ = _chunked_post_with_expect(
        server, "/jobs/createstudy", body, "multipart/form-data; boundary=RIboundary42"
    )
    assert status == 303
    assert headers["location"].startswith("status/")
    job_path = "/jobs/" + headers["location"]
    status, _, body = _get(server, job_path)
    job = etree.fromstring(body)
    assert status == 200 and job.tag == f"{NS}jobStatus"
    assert job.get("jobStatus") == "SUCCESS", body
    assert job.get("studyUUID") == study.study_instance_uid and job.get("jobID")
    stored = client.metadata(study.study_instance_uid)
    assert stored.instance_count == 4
    assert sorted(client.binary_item(study.study_instance_uid, b) for b in range(4)) == sorted(
        items.values()
    )
    # DICOM2MINT's update guarded by a stale oldVersion fails, with the reason in the job.
    stale = _ri_form_body(
        "RIb2", study, items, {"studyUUID": study.study_instance_uid, "oldVersion": "7"}
    )
    status, headers, _ = _chunked_post_with_expect(
        server, "/jobs/updatestudy", stale, "multipart/form-data; boundary=RIb2"
    )
    assert status == 303
    failed = etree.fromstring(_get(server, "/jobs/" + headers["location"])[2])
    assert failed.get("jobStatus") == "FAILED"
    assert failed.get("studyUUID") == study.study_instance_uid  # like a successful job
    assert "version" in (failed.findtext(f"{NS}reason") or "")
    assert _get(server, "/jobs/status/not-a-job")[0] == 400
    assert _get(server, "/jobs/status/" + "0" * 32)[0] == 404


def test_ri_job_update_merges_the_full_study(server: ServerProcess, client: MintClient) -> None:
    study, items = _ri_mint_upload("1.2.826.0.1.3680043.9.7133.78")
    client.upload_mint(study, [(b, len(d), (lambda d=d: io.BytesIO(d))) for b, d in items.items()])  # type: ignore[misc]
    current = _ri_form_body(
        "RIb3", study, items, {"studyUUID": study.study_instance_uid, "oldVersion": "0"}
    )
    status, headers, _ = _chunked_post_with_expect(
        server, "/jobs/updatestudy", current, "multipart/form-data; boundary=RIb3"
    )
    assert status == 303
    done = etree.fromstring(_get(server, "/jobs/" + headers["location"])[2])
    assert done.get("jobStatus") == "SUCCESS", etree.tostring(done)


def test_lock_update_stale_and_release(
    server: ServerProcess, client: MintClient, ri_study: str
) -> None:
    version = client.study_version(ri_study)
    token, expires = client.lock(ri_study)
    assert token and expires
    with pytest.raises(Locked):
        client.lock(ri_study)
    delta = Study(study_instance_uid=ri_study)
    delta.attributes[0x00081030] = Attribute(tag=0x00081030, vr="LO", val="updated over HTTP")
    with pytest.raises(Locked):  # while someone holds the lock, a version guard is not enough
        client.update(ri_study, delta, old_version=version)
    new_version = client.update(ri_study, delta, lock_token=token)
    assert new_version == version + 1
    assert client.metadata(ri_study).attributes[0x00081030].val == "updated over HTTP"
    before = client.metadata(ri_study, version=version).attributes.get(0x00081030)
    assert before is None or before.val != "updated over HTTP"
    client.unlock(ri_study, token)
    with pytest.raises(LockInvalid):  # a released token is stale
        client.update(ri_study, delta, lock_token=token)
    with pytest.raises(VersionConflict):
        client.update(ri_study, delta, old_version=version)
    # If-Match with the version ETag guards an update without a lock.
    body = formats.encode(delta, "xml")
    connection = _connection(server)
    connection.request(
        "POST", f"/studies/{ri_study}", body=body,
        headers={"Content-Type": "application/xml", "If-Match": f'"{version}"'},
    )  # fmt: skip
    response = connection.getresponse()
    assert response.status == 412 and b"version" in response.read()
    connection.close()
    log = client.changelog(ri_study)
    assert [c["changeNumber"] for c in log][-1] == str(new_version)
    assert log[-1]["operation"] == "UPDATE"
    status, _, payload = _get(server, f"/studies/{ri_study}/changelog/{new_version}.xml")
    assert status == 200
    assert formats.decode(payload, "xml").attributes[0x00081030].val == "updated over HTTP"


def test_system_changelog_pages_without_gaps(
    server: ServerProcess, client: MintClient, ri_study: str
) -> None:
    everything = client.changelog(limit=1000)
    assert len(everything) >= 2
    seen: list[dict[str, str]] = []
    token = ""
    while True:
        query = "/changelog?limit=1" + (f"&continuation={token}" if token else "")
        root = etree.fromstring(_get(server, query)[2])
        page = [dict(node.attrib) for node in root.iter(f"{NS}change")]
        if not page:
            break
        seen.extend(page)
        token = root.get("continuation", "")
    assert seen == everything
    assert _get(server, "/studies/changeLog?since=2000-01-01T00:00:00Z")[0] == 200


def test_types_openapi_and_health(server: ServerProcess) -> None:
    status, _, body = _get(server, "/types/DICOM")
    root = etree.fromstring(body)
    assert status == 200 and root.tag == f"{NS}metadata"
    assert root.find(f"{NS}study-attributes") is not None
    assert _get(server, "/types/DICOM.xml")[2] == body
    assert _get(server, "/types")[0] == 200
    assert _get(server, "/healthz")[0] == 200
    assert _get(server, "/openapi.json")[0] == 200


def test_delete_answers_410_and_hides_from_search(
    server: ServerProcess, client: MintClient
) -> None:
    study, items = _ri_mint_upload("1.2.826.0.1.3680043.9.7133.99")
    client.upload_mint(study, [(b, len(d), (lambda d=d: io.BytesIO(d))) for b, d in items.items()])  # type: ignore[misc]
    uid = study.study_instance_uid
    assert [h.study_uid for h in client.search(studyInstanceUID=uid)] == [uid]
    client.delete(uid)
    for path in (
        "",
        "/DICOM/metadata",
        "/DICOM/binaryitems/0",
        "/DICOM/summary.json",
        "/changelog",
    ):
        assert _get(server, f"/studies/{uid}{path}")[0] == 410, path
    assert list(client.search(studyInstanceUID=uid)) == []
    with pytest.raises(StudyGone):
        client.metadata(uid)


def test_bad_uploads_are_refused_and_change_nothing(
    server: ServerProcess, direct_store: StudyStore, store_dir: Path
) -> None:
    before = sorted(
        str(p.relative_to(store_dir))
        for p in store_dir.rglob("*")
        if p.is_file() and "blobs" not in p.parts
    )
    changes_before = direct_store.system_changes(limit=10000).changes

    def post(body: bytes, content_type: str, path: str = "/studies/create") -> tuple[int, bytes]:
        connection = _connection(server)
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, data

    status, body = post(b"\0" * 128 + b"DICM" + b"garbage" * 100, "application/dicom")
    assert status == 400 and body
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2.3">&lol2;</study>'
    )
    boundary = "bomb1"
    form = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="metadata"; filename="metadata.xml"\r\n'
            "Content-Type: text/xml\r\n\r\n"
        ).encode()
        + bomb
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, body = post(form, f"multipart/form-data; boundary={boundary}")
    assert status == 400 and b"InvalidMetadata" in body
    assert post(b"{}", "text/plain")[0] == 415
    assert post(b"x", "multipart/related")[0] == 400  # no boundary
    status, body = post(b"\0" * (65 * 1024**2), "application/dicom")
    assert status == 413
    # A GPB that is random bytes.
    status, body = post(b"\x08\x96\x01garbage\xff\xff", "application/octet-stream")
    assert status == 400
    # A good instance of a new study followed by a broken one: nothing is committed.
    good = pydicom_test_files() / "MR_small_implicit.dcm"
    mixed = b"".join(
        b"--mix\r\nContent-Type: application/dicom\r\n\r\n" + data + b"\r\n"
        for data in (good.read_bytes(), good.read_bytes()[:2000])
    )
    status, body = post(mixed + b"--mix--\r\n", "multipart/related; boundary=mix")
    assert status == 400 and b"InvalidDicom" in body
    uid = pydicom.dcmread(good).StudyInstanceUID
    assert _get(server, f"/studies/{uid}")[0] == 404
    after = sorted(
        str(p.relative_to(store_dir))
        for p in store_dir.rglob("*")
        if p.is_file() and "blobs" not in p.parts
    )
    assert after == before
    assert direct_store.system_changes(limit=10000).changes == changes_before
    assert direct_store.verify().ok


def test_client_errors_are_mintstore_errors(client: MintClient, ri_study: str) -> None:
    with pytest.raises(StudyNotFound):
        client.binary_item("1.2.3.4.5.6", 0)
    with pytest.raises(ItemNotFound):
        client.binary_item(RI_STUDY_UID, 12345)
    with pytest.raises(InvalidInput):
        list(client.search(nonsense="1"))
