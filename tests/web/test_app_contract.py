"""Properties of the whole route table, checked by walking Flask's URL map.

Every route needs a token when tokens are configured (health aside), the
OpenAPI document lists exactly the routes there are, and the API mounts
under a base path such as the RI's /MINTServer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask

from mintstore.web import ServerConfig, create_app, load_tokens
from mintstore.web.auth import PUBLIC_ENDPOINTS
from mintstore.web.openapi import OPERATIONS

SAMPLE_VALUES = {
    "study": "1.2.3",
    "series": "1.2.3.4",
    "sop": "1.2.3.4.5",
    "type_name": "DICOM",
    "ext": "xml",
    "selection": "0",
    "change": "0",
    "job_id": "0" * 32,
    "frames": "1",
    "bids": "0",
}


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.json"
    path.write_text(
        json.dumps(
            {
                "tokens": [
                    {"name": "reader", "token": "r-secret", "scopes": ["read"]},
                    {"name": "writer", "token": "w-secret", "scopes": ["write"]},
                ]
            }
        )
    )
    return path


@pytest.fixture
def secured_app(tokens_file: Path) -> Flask:
    return create_app(ServerConfig(store_url="memory://auth-walk", tokens=load_tokens(tokens_file)))


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    """(concrete URL, method, endpoint) for every rule and method of the app."""
    found = []
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLE_VALUES[m.group(1)], rule.rule)
        for method in sorted((rule.methods or set()) - {"OPTIONS"}):
            found.append((url, method, rule.endpoint))
    return found


def test_every_route_but_health_needs_a_token(secured_app: Flask) -> None:
    client = secured_app.test_client()
    routes = _routes(secured_app)
    assert len(routes) > 30
    for url, method, endpoint in routes:
        response = client.open(url, method=method)
        if endpoint in PUBLIC_ENDPOINTS:
            # 303: the browser view's sign-out redirects to its sign-in form.
            assert response.status_code in (200, 303), url
            continue
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.open(url, method=method, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401, (method, url)
        reader = client.open(url, method=method, headers={"Authorization": "Bearer r-secret"})
        if method in ("GET", "HEAD"):
            assert reader.status_code not in (401, 403), (method, url)
        else:
            assert reader.status_code == 403, (method, url, reader.status_code)
            assert b"scope" in reader.data


def test_admin_scope_guards_delete_and_copy(secured_app: Flask) -> None:
    client = secured_app.test_client()
    headers = {"Authorization": "Bearer w-secret"}
    assert client.delete("/studies/1.2.3", headers=headers).status_code == 403
    response = client.post("/studies/1.2.3?action=copy&target=x", headers=headers)
    assert response.status_code == 403


def test_openapi_lists_exactly_the_routes() -> None:
    app = create_app(ServerConfig(store_url="memory://openapi"))
    documented = {(path, method) for path, method, _ in OPERATIONS}
    served = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"OPTIONS", "HEAD"}:
            served.add((path, method.lower()))
    served.add(("/", "head"))  # the RI clients' check, answered on purpose
    assert documented == served
    document = app.test_client().get("/openapi.json").get_json()
    assert set(document["paths"]) == {path for path, _ in documented}


def test_mounted_under_a_base_path() -> None:
    app = create_app(ServerConfig(store_url="memory://mounted", base_path="/MINTServer"))
    client = app.test_client()
    assert client.head("/MINTServer/").status_code == 200
    assert client.head("/MINTServer").status_code == 200
    assert client.get("/MINTServer/types/DICOM").status_code == 200
    assert client.get("/MINTServer/studies/1.2.3/DICOM/metadata").status_code == 404
    assert client.get("/types/DICOM").status_code == 404
    document = client.get("/MINTServer/openapi.json").get_json()
    assert document["servers"] == [{"url": "/MINTServer"}]


def test_errors_answer_in_the_representation_asked_for() -> None:
    client = create_app(ServerConfig(store_url="memory://errors")).test_client()
    xml = client.get("/studies/1.2.3")
    assert xml.status_code == 404 and xml.mimetype == "application/xml"
    assert b"StudyNotFound" in xml.data and b"1.2.3" in xml.data
    as_json = client.get("/studies/1.2.3", headers={"Accept": "application/json"})
    assert as_json.get_json()["error"] == "StudyNotFound"
    missing_route = client.get("/no/such/route", headers={"Accept": "application/json"})
    assert missing_route.status_code == 404 and missing_route.get_json()["status"] == 404
    wrong_method = client.put("/studies/1.2.3")
    assert wrong_method.status_code == 405 and b"<error" in wrong_method.data
