"""Browser previews come from the shared renderer: the same picture as DICOMweb's thumbnail."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from flask.testing import FlaskClient
from PIL import Image
from pydicom.uid import generate_uid

from mintstore.web import ServerConfig, create_app
from mintstore.web.dicomweb.multipart import single_body

FILES = Path(pydicom.__file__).parent / "data" / "test_files"
MULTIPART = 'multipart/related; type="application/dicom"; boundary=B'


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return create_app(ServerConfig(store_url="memory://preview-renderer")).test_client()


def _stored(client: FlaskClient, name: str) -> tuple[str, str, str, pydicom.Dataset]:
    ds = pydicom.dcmread(FILES / name)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    body = single_body("B", [("application/dicom", out.getvalue())])
    answer = client.post("/dicom-web/studies", data=body, content_type=MULTIPART)
    assert answer.status_code == 200, answer.data
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID, ds


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "SC_rgb_rle.dcm"]
)
def test_preview_and_dicomweb_thumbnail_are_one_picture(client: FlaskClient, name: str) -> None:
    study, series, sop, _ = _stored(client, name)
    preview = client.get(f"/browse/preview/{study}/{series}/{sop}.png?size=128")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    thumbnail = client.get(
        f"/dicom-web/studies/{study}/series/{series}/instances/{sop}/thumbnail",
        headers={"Accept": "image/png"},
    )
    assert thumbnail.status_code == 200, thumbnail.data
    mine = np.asarray(Image.open(io.BytesIO(preview.data)))
    theirs = np.asarray(Image.open(io.BytesIO(thumbnail.data)))
    assert mine.shape == theirs.shape and max(mine.shape[:2]) == 128
    assert np.array_equal(mine, theirs)
    assert int(mine.max()) - int(mine.min()) > 50  # a picture, not a flat field


def test_a_multiframe_preview_is_the_middle_frame_as_dicomweb_renders_it(
    client: FlaskClient,
) -> None:
    study, series, sop, ds = _stored(client, "SC_rgb_rle_2frame.dcm")
    assert ds.NumberOfFrames == 2
    preview = client.get(f"/browse/preview/{study}/{series}/{sop}.png?size=64")
    base = f"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames"
    pictures = [
        client.get(f"{base}/{n}/rendered?viewport=64,64", headers={"Accept": "image/png"})
        for n in (1, 2)
    ]
    assert preview.status_code == 200 and all(p.status_code == 200 for p in pictures)
    mine = np.asarray(Image.open(io.BytesIO(preview.data)))
    first, second = (np.asarray(Image.open(io.BytesIO(p.data))) for p in pictures)
    assert np.array_equal(mine, second) and not np.array_equal(first, second)


def test_an_instance_without_pixels_is_a_client_error(client: FlaskClient) -> None:
    ds = pydicom.dcmread(FILES / "CT_small.dcm")
    del ds.PixelData
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    body = single_body("B", [("application/dicom", out.getvalue())])
    assert client.post("/dicom-web/studies", data=body, content_type=MULTIPART).status_code == 200
    answer = client.get(
        f"/browse/preview/{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.png"
    )
    assert answer.status_code == 400, answer.data
