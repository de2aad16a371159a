"""Azure adapter behaviour the shared conformance suite cannot express.

Concurrent block uploads of one key must not mix their blocks (uncommitted
blocks belong to the blob name), a failed block upload must leave nothing
visible, and the client is configured from the given environment only.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from mintstore.adapters import ObjectStore, open_store
from mintstore.adapters.azure import _account_name
from mintstore.errors import ConfigurationError, NotFound, StoreUnavailable
from mintstore.testing.backends import BackendPool

from .test_s3 import FailingStream

#: Blocks of 4 KiB above 1 KiB: a 64 KiB object is 16 staged blocks.
BLOCKS = {"multipart_threshold": "1024", "part_size": "4096"}


@pytest.fixture
def block_store(backend_pool: BackendPool) -> Iterator[ObjectStore]:
    with backend_pool.get("azurite").fresh(BLOCKS).open() as store:
        yield store


def test_concurrent_block_uploads_of_one_key_do_not_mix(block_store: ObjectStore) -> None:
    writers = 6
    contents = [bytes([65 + writer]) * (64 * 1024) for writer in range(writers)]
    barrier = threading.Barrier(writers)

    def write(writer: int) -> bool:
        barrier.wait()
        try:
            block_store.put("shared", contents[writer])
        except StoreUnavailable as exc:
            # Another writer's commit discarded this one's staged blocks.
            assert "retry" in str(exc)
            return False
        return True

    with ThreadPoolExecutor(writers) as pool:
        succeeded = list(pool.map(write, range(writers)))
    assert any(succeeded)
    stored = block_store.get_bytes("shared")
    assert stored in [contents[writer] for writer in range(writers) if succeeded[writer]]


def test_failed_block_upload_leaves_nothing_visible(block_store: ObjectStore) -> None:
    with pytest.raises(OSError, match="client went away"):
        block_store.put("partial", io.BufferedReader(FailingStream(20 * 1024)))
    with pytest.raises(NotFound):
        block_store.head("partial")
    assert list(block_store.list()) == []


def test_a_stream_goes_through_blocks_without_a_size(block_store: ObjectStore) -> None:
    data = bytes(range(256)) * 100

    class Unsized(io.RawIOBase):
        def __init__(self) -> None:
            super().__init__()
            self._stream = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
            return self._stream.readinto(memoryview(buffer)[:1000])

    info = block_store.put("unsized", io.BufferedReader(Unsized()))
    assert info.size == len(data)
    assert block_store.get_bytes("unsized") == data


def test_missing_connection_settings_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="AZURE_STORAGE_CONNECTION_STRING"):
        open_store("azure://container/p", {})


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://acct1.blob.core.windows.net", "acct1"),
        ("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1"),
    ],
)
def test_account_name_from_url(url: str, name: str) -> None:
    assert _account_name(url) == name


def test_unreachable_endpoint_is_store_unavailable() -> None:
    environ = {
        "AZURE_STORAGE_ACCOUNT_URL": "http://127.0.0.1:9/devstoreaccount1",
        "AZURE_STORAGE_KEY": "a2V5",
    }
    with (
        open_store("azure://container/p?retries=0", environ) as store,
        pytest.raises(StoreUnavailable),
    ):
        store.head("key")
