"""STOW-RS with DICOM JSON metadata and bulk data parts, read back as Part-10."""

from __future__ import annotations

import io
import json

import pydicom
from pydicom.dataelem import DataElement
from pydicom.uid import generate_uid

from mintstore.web import ServerConfig, create_app

from .corpus import PYDICOM_FILES, same_elements

JSON_STOW = 'multipart/related; type="application/dicom+json"; boundary=B'
ROOT = "http://localhost/dicom-web"


def _body(datasets: list[pydicom.Dataset]) -> bytes:
    documents, bulk = [], []
    for index, ds in enumerate(datasets):

        def uri_for(element: DataElement, index: int = index, ds: pydicom.Dataset = ds) -> str:
            uri = f"{ROOT}/upload/{index}/{element.tag:08X}"
            media = "application/octet-stream"
            syntax = ds.file_meta.TransferSyntaxUID
            if element.tag == 0x7FE00010 and syntax.is_compressed:
                media = f"image/jls; transfer-syntax={syntax}"
                value = next(pydicom.encaps.generate_frames(element.value, number_of_frames=1))
            else:
                value = element.value
            bulk.append((uri, media, value))
            return uri

        documents.append(
            ds.to_json_dict(bulk_data_threshold=256, bulk_data_element_handler=uri_for)
        )
    out = bytearray()
    out += b"--B\r\nContent-Type: application/dicom+json\r\n\r\n" + json.dumps(documents).encode()
    for uri, media, value in bulk:
        out += f"\r\n--B\r\nContent-Type: {media}\r\nContent-Location: {uri}\r\n\r\n".encode()
        out += value
    out += b"\r\n--B--\r\n"
    return bytes(out)


def _fresh(name: str) -> pydicom.Dataset:
    ds = pydicom.dcmread(PYDICOM_FILES / name)
    ds.StudyInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    return ds


def test_json_and_bulk_parts_become_instances() -> None:
    app = create_app(ServerConfig(store_url="memory://dicomweb-stow-json"))
    client = app.test_client()
    native, compressed = _fresh("MR_small.dcm"), _fresh("MR_small_jpeg_ls_lossless.dcm")
    broken = {"00080016": {"vr": "UI", "Value": ["1.2.3"]}}  # no SOP Instance UID
    body = _body([native, compressed])
    documents_end = body.index(b"\r\n--B\r\n")
    start = body.index(b"\r\n\r\n") + 4
    documents = json.loads(body[start:documents_end])
    documents.append(broken)
    body = body[:start] + json.dumps(documents).encode() + body[documents_end:]
    answer = client.post("/dicom-web/studies", data=body, content_type=JSON_STOW)
    assert answer.status_code == 202, answer.data
    document = pydicom.Dataset.from_json(answer.get_json())
    assert {i.ReferencedSOPInstanceUID for i in document.ReferencedSOPSequence} == {
        native.SOPInstanceUID,
        compressed.SOPInstanceUID,
    }
    assert document.FailedSOPSequence[0].FailureReason == 0xC000
    store = app.extensions["mintstore.store"]
    for original in (native, compressed):
        out = io.BytesIO()
        store.open_version(original.StudyInstanceUID).instance_part10(
            original.SeriesInstanceUID, original.SOPInstanceUID, out
        )
        stored = pydicom.dcmread(io.BytesIO(out.getvalue()))
        assert stored.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        assert same_elements(original, stored) == []


def test_json_stow_without_metadata_part_is_refused() -> None:
    client = create_app(ServerConfig(store_url="memory://dicomweb-stow-json-bad")).test_client()
    part = b"Content-Type: application/octet-stream\r\nContent-Location: x\r\n\r\nab"
    body = b"--B\r\n" + part + b"\r\n--B--\r\n"
    answer = client.post("/dicom-web/studies", data=body, content_type=JSON_STOW)
    assert answer.status_code == 400
    assert "dicom+json" in answer.get_json()["message"]
