"""One real server per backend (file store and moto's S3 server), loaded through STOW-RS.

Module-scoped: the corpus is stored once with dicomweb-client's
``store_instances`` and every test of the module reads it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient

from mintstore.adapters.registry import open_store
from mintstore.store import StoreConfig, StudyStore
from mintstore.testing.backends import BackendPool
from mintstore.testing.mint_server import ServerProcess, free_port

from .corpus import Prepared, prepare


@dataclass
class Deployment:
    """A running server, a DICOMweb client of it, the bucket and the corpus stored."""

    server: ServerProcess
    client: DICOMwebClient
    store: StudyStore
    corpus: dict[str, Prepared]
    stow_response: pydicom.Dataset

    @property
    def root(self) -> str:
        return self.server.url + "/dicom-web"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Prepared]:
    return prepare(tmp_path_factory.mktemp("dicomweb-corpus"))


@pytest.fixture(scope="module", params=["file", "moto-server"])
def deployment(
    request: pytest.FixtureRequest,
    backend_pool: BackendPool,
    corpus: dict[str, Prepared],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    spec = backend_pool.get(request.param).fresh()
    log: Path = tmp_path_factory.mktemp("dicomweb-logs") / "server.log"
    # dicomweb-client sends "Host" without the port: the server is told its URL.
    port = free_port()
    options = [
        "--port", str(port),
        "--dicomweb-url", f"http://127.0.0.1:{port}/dicom-web",
        "--cors-origin", "http://viewer.example",
    ]  # fmt: skip
    with ServerProcess(spec.url, environ=spec.environ, options=options, log_path=log) as server:
        client = DICOMwebClient(server.url + "/dicom-web")
        datasets = [pydicom.dcmread(p.path) for p in corpus.values()]
        response = client.store_instances(datasets)
        store = StudyStore(open_store(spec.url, spec.environ), StoreConfig())
        yield Deployment(server, client, store, corpus, response)
        store.close()
