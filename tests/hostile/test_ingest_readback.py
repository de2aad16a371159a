"""Nothing is accepted that cannot be read back.

The red team stored a Part-10 whose SeriesInstanceUID was ``../../x`` (201,
then 404 on its instance GET), a JSON upload with a US of 100k digits (201,
then 400 "cannot be rebuilt" and a 500 ZIP) and an IS of 100k digits (back
as UN). Each is refused now; and a fuzz run re-reads every upload it got
accepted: every instance as Part-10 (same VRs), the metadata in each format,
the ZIP.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from mintstore.synthetic import write_ct_series
from mintstore.web import ServerConfig, create_app

JSON = "application/json"


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app(ServerConfig(store_url="memory://hostile-readback"))


@pytest.fixture(scope="module")
def slice_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    series = write_ct_series(tmp_path_factory.mktemp("ct"), 1, rows=4, columns=4, seed=2)
    return Path(series.paths[0]).read_bytes()


def _with(data: bytes, **changes: str) -> bytes:
    ds = dcmread(io.BytesIO(data))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
@pytest.mark.parametrize("bad", ["../../x", "1.2.826&1", "1.2." + "3" * 70, "1..2", ""])
def test_part10_with_an_unaddressable_uid_is_refused(
    app: Flask, slice_bytes: bytes, keyword: str, bad: str
) -> None:
    changes = {"StudyInstanceUID": generate_uid(), "SOPInstanceUID": generate_uid(), keyword: bad}
    response = app.test_client().post(
        "/studies/create", data=_with(slice_bytes, **changes), content_type="application/dicom"
    )
    assert response.status_code == 400, response.data
    assert b"UID" in response.data or b"has no" in response.data


def _json_study(series_uid: str, sop_uid: str, attributes: dict[str, object]) -> bytes:
    study = {
        "studyInstanceUID": generate_uid(),
        "seriesList": [
            {
                "seriesInstanceUID": series_uid,
                "instances": [
                    {
                        "sopInstanceUID": sop_uid,
                        "transferSyntaxUID": "1.2.840.10008.1.2.1",
                        "attributes": attributes,
                    }
                ],
            }
        ],
    }
    return json.dumps(study).encode()


@pytest.mark.parametrize(
    ("series_uid", "sop_uid"),
    [("../../x", "1.2.3"), ("1.2.3", "1.2.826&1"), ("1.2", "4" * 65)],
)
def test_mint_metadata_with_an_unaddressable_uid_is_refused(
    app: Flask, series_uid: str, sop_uid: str
) -> None:
    response = app.test_client().post(
        "/studies/create", data=_json_study(series_uid, sop_uid, {}), content_type=JSON
    )
    assert response.status_code == 400, response.data


@pytest.mark.parametrize(
    ("vr", "value"),
    [
        ("US", "9" * 100_000),
        ("US", "65536"),
        ("US", "-1"),
        ("SS", "40000"),
        ("UL", "1.5"),
        ("FD", "x"),
        ("IS", "9" * 100_000),
        ("LO", "a" * 70_000),
    ],
)
def test_values_that_do_not_fit_their_vr_are_refused(app: Flask, vr: str, value: str) -> None:
    attributes: dict[str, object] = {
        "00181020" if vr == "LO" else "00280010": {"vr": vr, "Value": [value]}
    }
    body = _json_study(generate_uid(), generate_uid(), attributes)
    # JSON numbers are literals: send the number unquoted where JSON allows it.
    if value.isdigit():
        body = body.replace(f'"{value}"'.encode(), value.encode())
    response = app.test_client().post("/studies/create", data=body, content_type=JSON)
    assert response.status_code == 400, response.data[:300]


def _read_back(client: FlaskClient, study: str) -> None:
    """Every representation of a stored study answers 200, instances with their VRs."""
    for variant in ("xml", "gpb", "json", "xml.gz"):
        response = client.get(f"/studies/{study}/DICOM/metadata.{variant}")
        assert response.status_code == 200, (variant, response.data[:300])
    metadata = client.get(f"/studies/{study}/DICOM/metadata.json").get_json()
    for series in metadata["seriesList"]:
        for instance in series["instances"]:
            path = f"/studies/{study}/{series['seriesInstanceUID']}/{instance['sopInstanceUID']}"
            response = client.get(path)
            assert response.status_code == 200, (path, response.data[:300])
            ds = dcmread(io.BytesIO(response.data), force=True)
            _check_vrs(ds, instance.get("attributes", {}))
    response = client.get(f"/studies/{study}", headers={"Accept": "application/zip"})
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.testzip() is None


def _check_vrs(ds: Dataset, attributes: dict[str, dict[str, object]]) -> None:
    for key, attribute in attributes.items():
        tag = int(key, 16)
        if tag in ds and ds[tag].VR != "SQ":
            assert attribute["vr"] == ds[tag].VR, (key, ds[tag].VR, attribute["vr"])


_VR_VALUES = st.sampled_from(
    [
        ("US", st.integers(-5, 70_000)),
        ("SS", st.integers(-40_000, 40_000)),
        ("UL", st.integers(-1, 2**33)),
        ("IS", st.integers(-(10**15), 10**15)),
        ("DS", st.floats(allow_nan=False, allow_infinity=False)),
        ("FD", st.floats(allow_nan=False, allow_infinity=False)),
        ("LO", st.text(max_size=80)),
        ("CS", st.text(alphabet="ABCDEFGHIJ_ 0123456789", max_size=20)),
        ("US", st.just(int("9" * 300))),
    ]
)


@st.composite
def _attributes(draw: st.DrawFn) -> dict[str, object]:
    attributes: dict[str, object] = {}
    for tag in draw(
        st.lists(
            st.sampled_from(["00280010", "00200013", "00181020", "00081030"]),
            unique=True,
            max_size=3,
        )
    ):
        vr, values = draw(_VR_VALUES)
        attributes[tag] = {"vr": vr, "Value": [draw(values)]}
    return attributes


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(attributes=_attributes(), series_uid=st.sampled_from(["1.2.3", "1.2.3.4", "../x", "1.2a"]))
def test_every_accepted_json_upload_reads_back(
    app: Flask, attributes: dict[str, object], series_uid: str
) -> None:
    client = app.test_client()
    body = _json_study(series_uid, generate_uid(), attributes)
    response = client.post("/studies/create", data=body, content_type=JSON)
    assert response.status_code < 500, response.data[:300]
    if response.status_code == 201:
        study = json.loads(body)["studyInstanceUID"]
        _read_back(client, study)


def _mutations(data: bytes) -> Iterator[bytes]:
    """Deterministic damage to a Part-10 file: cuts and byte flips across its length."""
    step = max(1, len(data) // 40)
    for position in range(132, len(data), step):
        yield data[:position]
        flipped = bytearray(data)
        flipped[position] ^= 0xFF
        yield bytes(flipped)


def test_every_accepted_part10_mutation_reads_back(slice_bytes: bytes) -> None:
    accepted = 0
    for index, mutated in enumerate(_mutations(slice_bytes)):
        # A fresh store each time: the mutations share their UIDs.
        client = create_app(ServerConfig(store_url=f"memory://mutation-{index}")).test_client()
        response = client.post("/studies/create", data=mutated, content_type="application/dicom")
        assert response.status_code in (201, 400), (index, response.data[:300])
        if response.status_code == 201:
            accepted += 1
            _read_back(client, _study_of(response.data))
    assert accepted > 0  # some flips land in values that stay valid


def _study_of(xml: bytes) -> str:
    start = xml.index(b'studyUUID="') + len(b'studyUUID="')
    return xml[start : xml.index(b'"', start)].decode()
