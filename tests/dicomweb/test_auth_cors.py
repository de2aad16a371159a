"""DICOMweb under the MINT API's bearer tokens and scopes, CORS preflights before them,
and metadata revalidation with the version's ETag."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pydicom
from flask import Flask

from mintstore.web import ServerConfig, create_app, load_tokens
from mintstore.web.dicomweb import DicomWebConfig
from mintstore.web.dicomweb.multipart import single_body

from .corpus import PYDICOM_FILES


def _app(tmp_path: Path) -> Flask:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps(
            {
                "tokens": [
                    {"name": "viewer", "token": "r-secret", "scopes": ["read"]},
                    {"name": "modality", "token": "w-secret", "scopes": ["write"]},
                ]
            }
        )
    )
    config = ServerConfig(
        store_url="memory://dicomweb-auth",
        tokens=load_tokens(tokens),
        components={
            DicomWebConfig: DicomWebConfig(root="/wado", cors_origins=("https://viewer.example",))
        },
    )
    return create_app(config)


def test_scopes_and_preflight(tmp_path: Path) -> None:
    client = _app(tmp_path).test_client()
    assert client.get("/wado/studies").status_code == 401
    assert client.get("/dicom-web/studies").status_code in (401, 404)  # not mounted there
    reader = {"Authorization": "Bearer r-secret"}
    writer = {"Authorization": "Bearer w-secret"}
    assert client.get("/wado/studies", headers=reader).get_json() == []
    multipart = 'multipart/related; type="application/dicom"; boundary=B'
    refused = client.post("/wado/studies", headers={**reader, "Content-Type": multipart})
    assert refused.status_code == 403 and b"scope" in refused.data
    empty = client.post(
        "/wado/studies", data=b"--B--\r\n", headers={**writer, "Content-Type": multipart}
    )
    assert empty.status_code == 400
    preflight = client.options(
        "/wado/studies",
        headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://viewer.example"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    denied = client.get("/wado/studies", headers={"Origin": "https://viewer.example"})
    assert denied.status_code == 401
    assert denied.headers["Access-Control-Allow-Origin"] == "https://viewer.example"
    document = client.get("/openapi.json", headers=reader).get_json()
    assert "/wado/studies/{study}/metadata" in document["paths"]


def test_metadata_revalidates_with_the_version_etag(tmp_path: Path) -> None:
    client = _app(tmp_path).test_client()
    writer = {"Authorization": "Bearer w-secret"}
    data = (PYDICOM_FILES / "CT_small.dcm").read_bytes()
    study = pydicom.dcmread(io.BytesIO(data)).StudyInstanceUID
    multipart = 'multipart/related; type="application/dicom"; boundary=B'
    body = single_body("B", [("application/dicom", data)])
    assert (
        client.post(
            "/wado/studies", data=body, headers={**writer, "Content-Type": multipart}
        ).status_code
        == 200
    )
    first = client.get(f"/wado/studies/{study}/metadata", headers=writer)
    assert first.status_code == 200 and first.headers["ETag"] == '"0"'
    again = client.get(
        f"/wado/studies/{study}/metadata",
        headers={**writer, "If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304 and again.data == b""
