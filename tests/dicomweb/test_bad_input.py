"""Bad input to every DICOMweb route: a 4xx with a message, and the store unchanged.

Also STOW-RS duplicate semantics: an identical re-send succeeds, other
content under a stored SOP Instance UID fails that instance (0111H).
"""

from __future__ import annotations

import io

import pydicom
import pytest
import requests

from mintstore.store import SearchQuery
from mintstore.web.dicomweb.multipart import single_body

from .conftest import Deployment

pytestmark = pytest.mark.parametrize("deployment", ["file"], indirect=True)

DICOM_MULTIPART = 'multipart/related; type="application/dicom"; boundary=XYZ'


def _state(deployment: Deployment) -> tuple[object, ...]:
    store = deployment.store
    hits = store.search(SearchQuery(limit=1000)).results
    changes = store.system_changes(limit=1000).changes
    return tuple((h.study_uid, h.version) for h in hits), len(changes)


def _bytes(ds: pydicom.Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_bad_requests_answer_4xx_with_a_message_and_change_nothing(
    deployment: Deployment,
) -> None:
    root, corpus = deployment.root, deployment.corpus
    ct, j2k = corpus["ct1"], corpus["j2k"]
    instance = f"{root}/studies/{ct.study}/series/{ct.series}/instances/{ct.sop}"
    before = _state(deployment)
    good = _bytes(ct.dataset)
    truncated = single_body("XYZ", [("application/dicom", good)])[:-40]
    mp = {"Content-Type": DICOM_MULTIPART}
    no_boundary = {"Content-Type": 'multipart/related; type="application/dicom"'}
    json_parts = {"Content-Type": 'multipart/related; type="application/dicom+json"; boundary=XYZ'}
    octets = {"Content-Type": 'multipart/related; type="application/octet-stream"; boundary=XYZ'}
    not_dicom = single_body("XYZ", [("application/dicom", b"not dicom at all")])
    one_ct = single_body("XYZ", [("application/dicom", good)])
    as_jpeg = {"Accept": 'multipart/related; type="image/jpeg"'}
    ts = "1.2.840.10008.1.2.4.50"
    jpeg_instance = {"Accept": f'multipart/related; type="application/dicom"; transfer-syntax={ts}'}
    cases: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
        # STOW-RS: wrong media types, broken framing, not DICOM, wrong study
        ("POST", f"{root}/studies", {"Content-Type": "text/plain"}, b"hello", 415),
        ("POST", f"{root}/studies", no_boundary, b"--x\r\n", 400),
        ("POST", f"{root}/studies", mp, truncated, 400),
        ("POST", f"{root}/studies", mp, b"--XYZ--\r\n", 400),
        ("POST", f"{root}/studies", mp, not_dicom, 409),
        ("POST", f"{root}/studies/{j2k.study}", mp, one_ct, 409),
        ("POST", f"{root}/studies", json_parts, b"--XYZ--\r\n", 400),
        ("POST", f"{root}/studies", octets, b"--XYZ--\r\n", 415),
        ("POST", f"{root}/studies/1..2", mp, b"--XYZ--\r\n", 400),
        # bad UIDs
        ("GET", f"{root}/studies/1.2.abc/metadata", {}, None, 400),
        ("GET", f"{root}/studies/{'1' * 70}", {}, None, 400),
        ("GET", f"{root}/studies/{ct.study}/series/x/instances", {}, None, 400),
        ("GET", f"{root}/studies/1.2.3.4.5.6/metadata", {}, None, 404),
        ("GET", f"{root}/studies/{ct.study}/series/1.2.3/metadata", {}, None, 404),
        # QIDO-RS
        ("GET", f"{root}/studies?NoSuchKeyword=1", {}, None, 400),
        ("GET", f"{root}/studies?limit=-1", {}, None, 400),
        ("GET", f"{root}/studies?offset=abc", {}, None, 400),
        ("GET", f"{root}/studies?fuzzymatching=perhaps", {}, None, 400),
        ("GET", f"{root}/series?includefield=NotAnAttribute", {}, None, 400),
        # frames
        ("GET", f"{instance}/frames/0", {}, None, 400),
        ("GET", f"{instance}/frames/abc", {}, None, 400),
        ("GET", f"{instance}/frames/1,,2", {}, None, 400),
        ("GET", f"{instance}/frames/99", {}, None, 404),
        ("GET", f"{instance}/frames/1", as_jpeg, None, 406),
        # bulk data and ranges
        ("GET", f"{root}/studies/{ct.study}/bulkdata/x", {}, None, 400),
        ("GET", f"{root}/studies/{ct.study}/bulkdata/5-2", {}, None, 400),
        ("GET", f"{root}/studies/{ct.study}/bulkdata/99999", {}, None, 404),
        ("GET", f"{root}/studies/{ct.study}/bulkdata/0", {"Range": "bytes=99999999-"}, None, 416),
        ("GET", f"{root}/studies/{ct.study}/bulkdata/0", {"Range": "pages=1-2"}, None, 416),
        ("GET", f"{root}/studies/{ct.study}/bulkdata/0", {"Accept": "image/png"}, None, 406),
        # Accept
        ("GET", f"{root}/studies/{ct.study}/metadata", {"Accept": "text/html"}, None, 406),
        ("GET", f"{root}/studies", {"Accept": "application/xml"}, None, 406),
        ("GET", instance, {"Accept": "text/html"}, None, 406),
        ("GET", instance, jpeg_instance, None, 406),
        ("GET", f"{instance}/rendered", {"Accept": "application/pdf"}, None, 406),
        # rendering parameters
        ("GET", f"{instance}/rendered?quality=500", {}, None, 400),
        ("GET", f"{instance}/rendered?window=abc", {}, None, 400),
        ("GET", f"{instance}/rendered?window=40,-5", {}, None, 400),
        ("GET", f"{instance}/rendered?viewport=0,10", {}, None, 400),
        ("GET", f"{instance}/rendered?colour=red", {}, None, 400),
        ("GET", f"{instance}/frames/7/rendered", {}, None, 404),
        ("GET", f"{instance}/thumbnail?viewport=a,b", {}, None, 400),
    ]  # fmt: skip
    for method, url, headers, body, status in cases:
        response = requests.request(method, url, headers=headers, data=body, timeout=30)
        assert response.status_code == status, (method, url, response.status_code, response.text)
        if status in (409,):
            failed = pydicom.Dataset.from_json(response.json()).FailedSOPSequence
            assert failed[0].FailureReason in (0xC000, 0xA900)
        else:
            assert response.json()["message"], url
    assert _state(deployment) == before


def test_warning_for_known_but_unsupported_options(deployment: Deployment) -> None:
    nested = "ReferencedStudySequence.ReferencedSOPInstanceUID=1.2"
    url = f"{deployment.root}/studies?orderby=PatientName&{nested}"
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert "not supported" in response.headers["Warning"]


def test_identical_resend_succeeds_and_conflicting_content_fails(deployment: Deployment) -> None:
    ct = deployment.corpus["ct2"]
    url = f"{deployment.root}/studies"
    same = single_body("XYZ", [("application/dicom", ct.path.read_bytes())])
    before = _state(deployment)
    again = requests.post(url, data=same, headers={"Content-Type": DICOM_MULTIPART}, timeout=30)
    assert again.status_code == 200, again.text
    assert _state(deployment) == before
    changed = pydicom.dcmread(ct.path)
    changed.PatientWeight = 99
    other = single_body("XYZ", [("application/dicom", _bytes(changed))])
    refused = requests.post(url, data=other, headers={"Content-Type": DICOM_MULTIPART}, timeout=30)
    assert refused.status_code == 409
    failed = pydicom.Dataset.from_json(refused.json()).FailedSOPSequence
    assert failed[0].FailureReason == 0x0111
    assert failed[0].ReferencedSOPInstanceUID == ct.sop
    assert "already in the study" in refused.headers["Warning"]
    # one new and one conflicting instance: 202, the new one stored
    fresh = pydicom.dcmread(ct.path)
    fresh.SOPInstanceUID = fresh.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    mixed = single_body(
        "XYZ", [("application/dicom", _bytes(fresh)), ("application/dicom", _bytes(changed))]
    )
    partial = requests.post(
        f"{url}/{ct.study}", data=mixed, headers={"Content-Type": DICOM_MULTIPART}, timeout=30
    )
    assert partial.status_code == 202
    document = pydicom.Dataset.from_json(partial.json())
    assert [i.ReferencedSOPInstanceUID for i in document.ReferencedSOPSequence] == [
        fresh.SOPInstanceUID
    ]
    stored = deployment.client.retrieve_instance(ct.study, ct.series, fresh.SOPInstanceUID)
    assert stored.SOPInstanceUID == fresh.SOPInstanceUID
