"""Fixtures for the HTTP tests: a real server process on a file store, and its client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mintstore.adapters.registry import open_store
from mintstore.client import MintClient
from mintstore.store import StoreConfig, StudyStore
from mintstore.testing.mint_server import ServerProcess


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of the file store the module's server serves."""
    return tmp_path_factory.mktemp("mint-data")


@pytest.fixture(scope="module")
def server(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``mintstore serve`` per test module, on loopback."""
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with ServerProcess(
        store_dir.as_uri(), options=["--max-request-bytes", str(64 * 1024**2)], log_path=log
    ) as process:
        yield process


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MintClient]:
    """A client of the module's server."""
    mint = MintClient(server.url)
    yield mint
    mint.close()


@pytest.fixture
def direct_store(store_dir: Path) -> Iterator[StudyStore]:
    """The same bucket opened directly, to check what the server did."""
    store = StudyStore(open_store(store_dir.as_uri()), StoreConfig())
    yield store
    store.close()
