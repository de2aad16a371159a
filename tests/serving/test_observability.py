"""Access log (JSON, request ids), /metrics, /readyz and proxy headers on real server processes."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydicom.data import get_testdata_file

from mintstore.client import MintClient
from mintstore.testing.mint_server import ServerProcess
from mintstore.testing.servers import AWS_TEST_ENVIRON, MotoServer

TOKEN = "observer-secret"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    base = tmp_path_factory.mktemp("observed")
    tokens = base / "tokens.json"
    tokens.write_text(
        json.dumps({"tokens": [{"name": "observer", "token": TOKEN, "scopes": ["write"]}]})
    )
    log = base / "server.log"
    options = ["--log-format", "json", "--tokens", str(tokens)]
    with ServerProcess((base / "store").as_uri(), options=options, workers=2, log_path=log) as s:
        yield s, log


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _log_lines(log: Path) -> list[dict[str, object]]:
    time.sleep(0.3)  # the worker writes the access line after the last byte
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_json_access_lines_carry_the_request_id(logged: tuple[ServerProcess, Path]) -> None:
    server, log = logged
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, headers, _ = _get(server.url + "/studies", {**auth, "X-Request-ID": "probe-42"})
    assert status == 200 and headers["X-Request-ID"] == "probe-42"
    status, headers, _ = _get(server.url + "/studies/1.2.3.4", auth)
    assert status == 404
    fresh_id = headers["X-Request-ID"]
    assert len(fresh_id) >= 16
    lines = _log_lines(log)  # every line parses: gunicorn's own lines included
    access = {
        line.get("request_id"): line for line in lines if line["logger"] == "mintstore.access"
    }
    hit = access["probe-42"]
    assert hit["method"] == "GET" and hit["path"] == "/studies" and hit["status"] == 200
    assert hit["user"] == "observer" and isinstance(hit["duration_ms"], float)
    assert int(str(hit["bytes"])) > 0 and "time" in hit
    miss = access[fresh_id]
    assert miss["status"] == 404 and miss["level"] == "info"
    assert "1.2.3.4" in str(miss["reason"])
    assert not any("\x1b[" in json.dumps(line) for line in lines)


def _samples(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    _, _, body = _get(server.url + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_move_after_a_push(logged: tuple[ServerProcess, Path]) -> None:
    server, _ = logged
    before = _samples(server)
    client = MintClient(server.url, token=TOKEN)
    client.push_files([Path(str(get_testdata_file("CT_small.dcm")))])
    client.close()
    after = _samples(server)
    route = "/studies/create"
    assert _value(after, "mintstore_commits_total") == _value(before, "mintstore_commits_total") + 1
    assert _value(
        after, "mintstore_http_requests_total", route=route, method="POST", status="201"
    ) >= 1 + _value(
        before, "mintstore_http_requests_total", route=route, method="POST", status="201"
    )
    received = _value(after, "mintstore_http_received_bytes_total", route=route)
    assert received - _value(before, "mintstore_http_received_bytes_total", route=route) > 30000
    creates = ("mintstore_objectstore_requests_total", "create", "ok")
    assert _value(after, creates[0], operation="create", outcome="ok") > _value(
        before, creates[0], operation="create", outcome="ok"
    )
    assert (
        _value(after, "mintstore_http_request_duration_seconds_count", route=route, method="POST")
        >= 1
    )


def test_readyz_fails_when_the_store_is_unreachable(tmp_path: Path) -> None:
    import boto3

    moto = MotoServer().__enter__()
    try:
        boto3.client(
            "s3",
            endpoint_url=moto.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket="ready")
        url = f"s3://ready/p?endpoint_url={moto.endpoint_url}"
        server = ServerProcess(url, environ=dict(AWS_TEST_ENVIRON), log_path=tmp_path / "log")
    except BaseException:
        moto.__exit__(None, None, None)
        raise
    try:
        status, _, body = _get(server.url + "/readyz", {})
        assert status == 200 and json.loads(body)["status"] == "ready"
        moto.__exit__(None, None, None)
        status, headers, body = _get(server.url + "/readyz", {})
        assert status == 503 and json.loads(body)["status"] == "unavailable"
        assert "Retry-After" in headers
        assert _get(server.url + "/healthz", {})[0] == 200  # alive, just not ready
    finally:
        server.stop()
        moto.__exit__(None, None, None)


def test_proxy_headers_give_https_locations(tmp_path: Path) -> None:
    body = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "pacs.example.org",
        "X-Forwarded-Prefix": "/mint",
        "X-Forwarded-For": "203.0.113.9",
    }

    def create(server: ServerProcess) -> str:
        parts = urlsplit(server.url)
        assert parts.hostname and parts.port
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request(
            "POST",
            "/studies/create",
            body=body,
            headers={"Content-Type": "application/dicom", **forwarded},
        )
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 201
        return str(response.getheader("Location"))

    with ServerProcess((tmp_path / "a").as_uri(), options=["--proxy-headers"]) as server:
        location = create(server)
        assert location.startswith("https://pacs.example.org/mint/studies/"), location
    log = tmp_path / "plain.log"
    with ServerProcess((tmp_path / "b").as_uri(), log_path=log) as server:
        # Without --proxy-headers the same headers are ignored.
        assert create(server).startswith(server.url + "/studies/")


def test_a_request_without_a_token_is_refused_before_100_continue(
    logged: tuple[ServerProcess, Path],
) -> None:
    import socket

    server, _ = logged
    parts = urlsplit(server.url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            b"POST /studies/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/dicom\r\n"
            b"Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"100 Continue" not in answer
