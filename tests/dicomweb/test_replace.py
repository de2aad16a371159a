"""``--duplicates replace`` (the engine's ``[store] duplicates``): other content under a
stored SOP Instance UID becomes a new version, through STOW-RS."""

from __future__ import annotations

import io

import pydicom
from pydicom.uid import generate_uid

from mintstore.store import StoreConfig
from mintstore.web import ServerConfig, create_app
from mintstore.web.dicomweb.multipart import single_body

from .corpus import PYDICOM_FILES, same_elements

MULTIPART = 'multipart/related; type="application/dicom"; boundary=B'


def _part10(ds: pydicom.Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_conflicting_instance_is_committed_as_a_new_version() -> None:
    config = ServerConfig(
        store_url="memory://dicomweb-replace",
        engine=StoreConfig(duplicates="replace"),
    )
    app = create_app(config)
    client = app.test_client()
    first = pydicom.dcmread(PYDICOM_FILES / "CT_small.dcm")
    first.StudyInstanceUID, first.SeriesInstanceUID = generate_uid(), generate_uid()
    first.SOPInstanceUID = first.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    other = pydicom.dcmread(io.BytesIO(_part10(first)))
    other.SOPInstanceUID = other.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    sent = single_body(
        "B", [("application/dicom", _part10(first)), ("application/dicom", _part10(other))]
    )
    assert client.post("/dicom-web/studies", data=sent, content_type=MULTIPART).status_code == 200
    changed = pydicom.dcmread(io.BytesIO(_part10(first)))
    changed.PatientWeight = 99  # an instance-level change
    changed.InstanceNumber = 7
    del changed.AdditionalPatientHistory  # and one attribute gone
    changed.PixelData = bytes(reversed(first.PixelData))
    again = single_body("B", [("application/dicom", _part10(changed))])
    answer = client.post("/dicom-web/studies", data=again, content_type=MULTIPART)
    assert answer.status_code == 200, answer.data
    referenced = pydicom.Dataset.from_json(answer.get_json()).ReferencedSOPSequence
    assert referenced[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    store = app.extensions["mintstore.store"]
    assert store.study_info(first.StudyInstanceUID).version == 1
    path = (
        f"/dicom-web/studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}/instances/"
    )
    now = client.get(
        path + first.SOPInstanceUID,
        headers={"Accept": 'multipart/related; type="application/dicom"'},
    )
    body = now.data
    start = body.index(b"\r\n\r\n") + 4
    end = body.rindex(b"\r\n--")
    stored = pydicom.dcmread(io.BytesIO(body[start:end]))
    assert same_elements(changed, stored) == []
    # the other instance keeps everything, the attribute the replacement dropped included
    for_other = store.open_version(first.StudyInstanceUID)
    rebuilt = io.BytesIO()
    for_other.instance_part10(first.SeriesInstanceUID, other.SOPInstanceUID, rebuilt)
    assert same_elements(other, pydicom.dcmread(io.BytesIO(rebuilt.getvalue()))) == []
    # the old content is kept in history
    history = io.BytesIO()
    old = store.open_version(first.StudyInstanceUID, 0)
    old.instance_part10(first.SeriesInstanceUID, first.SOPInstanceUID, history)
    assert same_elements(first, pydicom.dcmread(io.BytesIO(history.getvalue()))) == []
