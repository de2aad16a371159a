"""The browser view in headless Chromium over DevTools: search, series order, images, sign-in.

The study is made here: three series whose Series Numbers (3, 1, 2) disagree
with their UID order, instances whose Instance Numbers disagree with theirs,
and a distinct gradient image per series, so order and images can be checked.
Screenshots go to ``$MINTSTORE_TEST_ARTIFACTS`` (default ``test-artifacts/``
in the repository) for a person to look at.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from mintstore.client import MintClient
from mintstore.testing.chromium import HeadlessChromium
from mintstore.testing.mint_server import ServerProcess

ARTIFACTS = Path(
    os.environ.get("MINTSTORE_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)
TOKEN = "viewer-secret"
PATIENT = "Quixote^Alonso^Q"
ROOT = "1.2.826.0.1.3680043.8.498.7"


def _write_study(directory: Path) -> tuple[str, list[str]]:
    """A 3-series MR study; returns its UID and the series UIDs in Series Number order."""
    study = f"{ROOT}.1"
    # UID order .1 < .2 < .3, Series Number order 3, 1, 2.
    series = {f"{ROOT}.2.1": 3, f"{ROOT}.2.2": 1, f"{ROOT}.2.3": 2}
    paths = []
    for series_uid, number in series.items():
        for position, instance_number in enumerate((2, 3, 1)):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.4")
            meta.MediaStorageSOPInstanceUID = UID(f"{series_uid}.{position + 1}")
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = Dataset()
            ds.file_meta = meta
            ds.SOPClassUID, ds.SOPInstanceUID = (
                meta.MediaStorageSOPClassUID,
                meta.MediaStorageSOPInstanceUID,
            )
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series_uid
            ds.PatientName, ds.PatientID, ds.AccessionNumber = PATIENT, "LM-1605", "ACC-77"
            ds.StudyDate, ds.StudyDescription = "20240315", "Knee MRI"
            ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "MR", number, instance_number
            ds.SeriesDescription = f"series number {number}"
            ds.Rows = ds.Columns = 64
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            y, x = np.mgrid[0:64, 0:64]
            image = ((x * number + y * instance_number) * 16 % 4096).astype(np.uint16)
            ds.PixelData = image.tobytes()
            path = directory / f"{number}-{instance_number}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    ordered = [uid for uid, _ in sorted(series.items(), key=lambda item: item[1])]
    return study, ordered


def _other_study(directory: Path) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = (
        meta.MediaStorageSOPClassUID,
        meta.MediaStorageSOPInstanceUID,
    )
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Panza^Sancho", "SP-1", "OT"
    ds.save_as(directory / "other.dcm", enforce_file_format=True)


@pytest.fixture(scope="module")
def viewed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, str, list[str]]]:
    base = tmp_path_factory.mktemp("browser")
    files = base / "files"
    files.mkdir()
    study, series = _write_study(files)
    _other_study(files)
    tokens = base / "tokens.json"
    tokens.write_text(
        json.dumps({"tokens": [{"name": "radiologist", "token": TOKEN, "scopes": ["write"]}]})
    )
    options = ["--tokens", str(tokens)]
    with ServerProcess(
        (base / "store").as_uri(), options=options, log_path=base / "server.log"
    ) as server:
        client = MintClient(server.url, token=TOKEN)
        client.push_files(sorted(files.iterdir()))
        client.close()
        yield server, study, series


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessChromium]:
    with HeadlessChromium(tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium


SIGN_IN = """
document.querySelector('#token').value = %s;
document.querySelector('#login').submit();
"""

IMAGE_CHECK = """
(async () => {
  const images = Array.from(document.querySelectorAll(%s));
  await Promise.all(images.map(i => i.decode().catch(() => null)));
  return images.map(img => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    if (!img.naturalWidth) return {src: img.src, width: 0, spread: 0};
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let low = 255, high = 0;
    for (let k = 0; k < data.length; k += 4) {
      low = Math.min(low, data[k]); high = Math.max(high, data[k]);
    }
    return {src: img.src, width: img.naturalWidth, spread: high - low};
  });
})()
"""


def test_sign_in_then_search_by_partial_name_then_the_study(
    viewed: tuple[ServerProcess, str, list[str]], browser: HeadlessChromium
) -> None:
    server, study, series = viewed
    # Tokens are on: a browser is sent to the sign-in form, not given a bare 401.
    browser.navigate(server.url + "/")
    assert "/browse/login" in browser.url()
    browser.screenshot(ARTIFACTS / "browser-login.png")
    browser.evaluate(SIGN_IN % json.dumps("wrong-token"), wait_load=True)
    assert "not known" in browser.evaluate("document.querySelector('#error').textContent")
    browser.evaluate(SIGN_IN % json.dumps(TOKEN), wait_load=True)
    assert browser.evaluate("document.querySelector('#user').textContent") == "radiologist"
    cookie = next(c for c in browser.cookies() if c["name"] == "mintstore_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.evaluate("document.cookie") == ""  # page scripts cannot read it

    browser.navigate(server.url + "/?patient=quix*")
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('#studies tr.study')).map(r => r.innerText)"
    )
    assert len(rows) == 1 and "Quixote, Alonso Q" in rows[0] and "LM-1605" in rows[0]
    browser.screenshot(ARTIFACTS / "browser-search.png")
    browser.navigate(server.url + "/?patient=panza")
    assert "Panza" in browser.evaluate("document.querySelector('#studies').innerText")
    browser.navigate(server.url + "/?modality=MR&from=2024-03-01&to=2024-03-31")
    assert "Quixote" in browser.evaluate("document.querySelector('#studies').innerText")
    assert "Panza" not in browser.evaluate("document.querySelector('#studies').innerText")

    browser.evaluate("document.querySelector('#studies tr.study a').click()", wait_load=True)
    assert browser.url().startswith(f"{server.url}/studies/{study}")
    numbers = browser.evaluate(
        "Array.from(document.querySelectorAll('#series td.number')).map(td => td.textContent)"
    )
    assert numbers == ["1", "2", "3"]
    uids = browser.evaluate(
        "Array.from(document.querySelectorAll('#series tr.series td:last-child'))"
        ".map(td => td.textContent)"
    )
    assert uids == series
    thumbnails = browser.evaluate(IMAGE_CHECK % json.dumps("#series img.thumb"))
    assert len(thumbnails) == 3
    for thumbnail in thumbnails:
        assert thumbnail["width"] > 0 and thumbnail["spread"] > 50, thumbnail
    strip = browser.evaluate(
        "Array.from(document.querySelectorAll('#instances .instance-number'))"
        ".map(s => s.textContent)"
    )
    assert strip == ["1", "2", "3"]
    previews = browser.evaluate(IMAGE_CHECK % json.dumps("#instances img, #preview"))
    assert len(previews) == 4 and all(p["spread"] > 50 for p in previews), previews
    browser.screenshot(ARTIFACTS / "browser-study.png")

    # Another series from the table: its instances come up, still in number order.
    browser.evaluate(
        "document.querySelectorAll('#series tr.series td:nth-child(3) a')[2].click()",
        wait_load=True,
    )
    assert f"series={series[2]}" in browser.url()
    heading = browser.evaluate("document.querySelectorAll('h2')[1].textContent")
    assert "series number 3" in heading


def test_the_cookie_cannot_make_changes(viewed: tuple[ServerProcess, str, list[str]]) -> None:
    import urllib.error
    import urllib.request

    server, study, _ = viewed
    request = urllib.request.Request(
        f"{server.url}/studies/{study}",
        method="DELETE",
        headers={"Cookie": f"mintstore_token={TOKEN}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    login = urllib.request.Request(
        f"{server.url}/browse/login",
        data=f"token={TOKEN}".encode(),
        headers={
            "Origin": "https://evil.example",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as cross_site:
        urllib.request.urlopen(login, timeout=10)
    assert cross_site.value.code == 403
