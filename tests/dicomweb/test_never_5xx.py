"""Arbitrary query strings, Accept and Range headers never make a DICOMweb route fail with a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pydicom
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mintstore.web import ServerConfig, create_app
from mintstore.web.dicomweb.multipart import single_body

from .corpus import PYDICOM_FILES

KEYS = [
    "PatientName", "PatientID", "StudyDate", "StudyTime", "ModalitiesInStudy", "Modality",
    "StudyInstanceUID", "SeriesInstanceUID", "InstanceNumber", "includefield", "limit",
    "offset", "fuzzymatching", "00100010", "0020000D", "orderby", "NotAKeyword", "a.b",
    "window", "viewport", "quality",
]  # fmt: skip
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@pytest.fixture(scope="module")
def client() -> Iterator[tuple[FlaskClient, pydicom.Dataset]]:
    app = create_app(ServerConfig(store_url="memory://dicomweb-fuzz"))
    test_client = app.test_client()
    data = (PYDICOM_FILES / "MR_small_RLE.dcm").read_bytes()
    body = single_body("B", [("application/dicom", data)])
    kind = 'multipart/related; type="application/dicom"; boundary=B'
    assert test_client.post("/dicom-web/studies", data=body, content_type=kind).status_code == 200
    yield test_client, pydicom.dcmread(PYDICOM_FILES / "MR_small_RLE.dcm", stop_before_pixels=True)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.lists(st.tuples(st.sampled_from(KEYS), TEXT), max_size=4),
    accept=st.one_of(st.none(), TEXT, st.sampled_from([
        'multipart/related; type="application/octet-stream"; transfer-syntax=*',
        'multipart/related; type="image/dicom-rle"', "image/png", "*/*;q=x", "application/zip",
        'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2',
    ])),
    range_header=st.one_of(st.none(), TEXT, st.just("bytes=-5"), st.just("bytes=3-1")),
    route=st.sampled_from(["studies", "series", "instances", "metadata", "frames", "rendered",
                           "thumbnail", "bulk", "retrieve"]),
)  # fmt: skip
def test_no_5xx(
    client: tuple[FlaskClient, pydicom.Dataset],
    params: list[tuple[str, str]],
    accept: str | None,
    range_header: str | None,
    route: str,
) -> None:
    test_client, ds = client
    study = f"/dicom-web/studies/{ds.StudyInstanceUID}"
    instance = f"{study}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    path = {
        "studies": "/dicom-web/studies",
        "series": f"{study}/series",
        "instances": "/dicom-web/instances",
        "metadata": f"{instance}/metadata",
        "frames": f"{instance}/frames/1",
        "rendered": f"{instance}/rendered",
        "thumbnail": f"{study}/thumbnail",
        "bulk": f"{study}/bulkdata/0",
        "retrieve": instance,
    }[route]
    headers = {}
    if accept is not None:
        headers["Accept"] = accept.replace("\n", " ").replace("\r", " ")
    if range_header is not None:
        headers["Range"] = range_header.replace("\n", " ").replace("\r", " ")
    response = test_client.get(path, query_string=params, headers=headers)
    assert response.status_code < 500, (path, params, headers, response.data[:300])
