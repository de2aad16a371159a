"""DICOMweb under the MINT API's bearer tokens and scopes, and CORS preflights before them."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from mintstore.dicomweb import DicomWebConfig
from mintstore.web import ServerConfig, create_app, load_tokens


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
        dicomweb=DicomWebConfig(root="/wado", cors_origins=("https://viewer.example",)),
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
