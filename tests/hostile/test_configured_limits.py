"""The ``[limits]`` options reach the code that enforces them, in a real server process.

Each limit is set far below its default (one by flag, one by environment
variable, one in the TOML file) and an input that the default accepts is sent:
the configured limit must refuse it with a 400 naming that limit.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mintstore.testing.hostile import (
    HostileCase,
    json_many_attributes,
    many_binary_parts,
)
from mintstore.testing.mint_server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    store = tmp_path_factory.mktemp("limits-store")
    config = tmp_path_factory.mktemp("limits-config") / "mint.toml"
    config.write_text("[limits.documents]\nmax_nodes = 50\n")
    with ServerProcess(
        store.as_uri(),
        options=["--config", str(config), "--limits-spool-max-parts", "3"],
        environ={"MINTSTORE_LIMITS_PART10_MAX_ELEMENTS": "20"},
    ) as process:
        yield process


def _refusal(server: ServerProcess, case: HostileCase) -> str:
    """The 400's message (the server stays up)."""
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        assert isinstance(case.body, bytes)
        connection.request(case.method, case.path, body=case.body, headers=case.headers or {})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    assert server.process.poll() is None
    assert response.status == 400, (response.status, text)
    return text


def test_part_count_limit_from_a_flag(server: ServerProcess) -> None:
    body, boundary = many_binary_parts(4, size=1000)  # metadata + 4 binary parts
    case = HostileCase(
        "parts",
        "POST",
        "/studies/create",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "more than 3 parts" in _refusal(server, case)


def test_part10_element_limit_from_the_environment(server: ServerProcess, tmp_path: Path) -> None:
    from mintstore.synthetic import write_ct_series

    series = write_ct_series(tmp_path, 1, rows=8, columns=8, seed=5)
    body = Path(series.paths[0]).read_bytes()
    case = HostileCase(
        "elements", "POST", "/studies/create", body, {"Content-Type": "application/dicom"}
    )
    assert "more than 20 elements" in _refusal(server, case)


def test_document_node_limit_from_the_file(server: ServerProcess) -> None:
    case = HostileCase(
        "nodes",
        "POST",
        "/studies/create",
        json_many_attributes(100),
        {"Content-Type": "application/json"},
    )
    assert "more than its 50 attributes" in _refusal(server, case)
