"""Rendered and thumbnail images against a reference rendering computed here.

The reference follows PS3.3 C.11.2.1.2.1 (linear VOI window) on pydicom's
decoding of the source file, written independently of mintstore.render:
rescale, window (or the frame's range), MONOCHROME1 inverted; RGB as is.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
import requests
from numpy.typing import NDArray
from PIL import Image

from .conftest import Deployment
from .corpus import Prepared

pytestmark = pytest.mark.parametrize("deployment", ["file"], indirect=True)


def _first(ds: pydicom.Dataset, keyword: str) -> float:
    element = ds[keyword]
    return float(element.value[0] if element.VM > 1 else element.value)


def reference(
    prepared: Prepared, frame: int = 1, window: tuple[float, float] | None = None
) -> NDArray[np.float64]:
    ds = prepared.dataset
    pixels = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1)) > 1:
        pixels = pixels[frame - 1]
    if ds.SamplesPerPixel == 3:
        return pixels.astype(np.float64)
    values = pixels.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(
        ds.get("RescaleIntercept", 0)
    )
    if window is None and "WindowCenter" in ds:
        window = (_first(ds, "WindowCenter"), _first(ds, "WindowWidth"))
    if window is not None:
        c, w = window
        out = ((values - (c - 0.5)) / (w - 1) + 0.5) * 255
        out[values <= c - 0.5 - (w - 1) / 2] = 0
        out[values > c - 0.5 + (w - 1) / 2] = 255
    else:
        out = (values - values.min()) / (values.max() - values.min()) * 255
    if ds.PhotometricInterpretation == "MONOCHROME1":
        out = 255 - out
    return np.clip(out, 0, 255)


def fetch(deployment: Deployment, path: str, accept: str = "image/png") -> Image.Image:
    response = requests.get(deployment.root + path, headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == accept
    return Image.open(io.BytesIO(response.content))


def instance_path(prepared: Prepared) -> str:
    return f"/studies/{prepared.study}/series/{prepared.series}/instances/{prepared.sop}"


@pytest.mark.parametrize(
    ("name", "frame"),
    [("mr", 1), ("mono1", 1), ("ct1", 1), ("rgb", 1), ("multiframe", 3), ("j2k", 1), ("rle", 2)],
)
def test_rendered_png_equals_the_reference(deployment: Deployment, name: str, frame: int) -> None:
    prepared = deployment.corpus[name]
    path = instance_path(prepared) + (f"/frames/{frame}" if frame > 1 else "") + "/rendered"
    image = np.asarray(fetch(deployment, path), dtype=np.float64)
    expected = reference(prepared, frame)
    assert image.shape == expected.shape
    assert np.abs(image - expected).max() <= 1.0, name


def test_rendered_jpeg_and_window_and_viewport(deployment: Deployment) -> None:
    prepared = deployment.corpus["mr"]
    base = instance_path(prepared)
    jpeg = np.asarray(fetch(deployment, base + "/rendered", "image/jpeg"), dtype=np.float64)
    assert np.abs(jpeg - reference(prepared)).mean() < 3.0
    windowed = fetch(deployment, base + "/rendered?window=300,400")
    expected = reference(prepared, window=(300.0, 400.0))
    assert np.abs(np.asarray(windowed, dtype=np.float64) - expected).max() <= 1.0
    small = fetch(deployment, base + "/rendered?viewport=32,16&quality=50", "image/jpeg")
    assert small.size == (16, 16)  # the 64x64 slice fitted into 32x16


@pytest.mark.parametrize("name", ["mr", "mono1", "rgb", "j2k"])
def test_thumbnail_is_the_reference_scaled(deployment: Deployment, name: str) -> None:
    prepared = deployment.corpus[name]
    thumb = fetch(deployment, instance_path(prepared) + "/thumbnail?viewport=32,32")
    assert thumb.size == (32, 32)
    expected = Image.fromarray(np.rint(reference(prepared)).astype(np.uint8))
    scaled = np.asarray(expected.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(np.asarray(thumb, dtype=np.float64) - scaled).mean() < 6.0, name


def test_study_and_series_thumbnails(deployment: Deployment) -> None:
    ct = deployment.corpus["ct1"]
    study = fetch(deployment, f"/studies/{ct.study}/thumbnail", "image/jpeg")
    assert max(study.size) == 128
    series = fetch(deployment, f"/studies/{ct.study}/series/{ct.series}/rendered")
    # the middle of the three CT slices (by SOP Instance UID) is shown
    assert series.size == (128, 128)
