"""Every object-store backend, ready to hand out fresh empty stores.

A ``Backend`` owns whatever it needs (a server, a bucket, a temp directory)
and gives each caller a new, empty, isolated store as a ``StoreSpec`` (a URL
plus the environment to open it with), so tests never see each other's
objects. Fresh stores are cheap: a unique prefix in one shared bucket or
container, created once per backend.

Used by the pytest plugin (``mintstore.testing.pytest_plugin``) and by the
benchmarks; nothing here imports pytest.
"""

from __future__ import annotations

import itertools
import secrets
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mintstore.adapters import ObjectStore, open_store

from .moto_fidelity import serialize_object_writes
from .servers import AWS_TEST_ENVIRON, AZURITE_KEY, Azurite, MotoServer, Swift

#: Every backend the conformance suite runs on, in the order tests run.
BACKEND_NAMES = ("memory", "file", "moto", "moto-server", "azurite", "swift")

#: The bucket/container holding every test store of a server backend.
SHARED_CONTAINER = "mint-test"

_WRONG_AZURE_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="


@dataclass(frozen=True)
class StoreSpec:
    """How to open one store: what ``open_store`` takes."""

    url: str
    environ: Mapping[str, str] = field(default_factory=dict)

    def open(self) -> ObjectStore:
        return open_store(self.url, self.environ)


class Backend(ABC):
    """One kind of store and the resources behind it."""

    name: str

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def _unique(self) -> str:
        return f"t{next(self._counter):05d}-{secrets.token_hex(4)}"

    def activate(self) -> AbstractContextManager[None]:
        """Context a test must run inside for this backend's stores to work.

        Only in-process moto needs one (its ``mock_aws`` patch); it also
        means each test starts from an empty mock.
        """
        return nullcontext()

    @abstractmethod
    def fresh(self, options: Mapping[str, str] | None = None) -> StoreSpec:
        """A new, empty store; ``options`` become URL query options."""

    def bad_credentials(self) -> AbstractContextManager[StoreSpec] | None:
        """A store whose credentials the backend refuses, or None if it has none."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend started."""


def _query(options: Mapping[str, str] | None) -> str:
    return "?" + urlencode(dict(options)) if options else ""


class MemoryBackend(Backend):
    name = "memory"

    def fresh(self, options: Mapping[str, str] | None = None) -> StoreSpec:
        return StoreSpec(f"memory://{self._unique()}{_query(options)}")


class FileBackend(Backend):
    name = "file"

    def __init__(self) -> None:
        super().__init__()
        self._temp = tempfile.TemporaryDirectory(prefix="mint-file-")

    def fresh(self, options: Mapping[str, str] | None = None) -> StoreSpec:
        root = Path(self._temp.name) / self._unique()
        return StoreSpec(root.as_uri() + _query(options))

    def close(self) -> None:
        self._temp.cleanup()


def _s3_client(environ: Mapping[str, str], endpoint_url: str | None) -> Any:
    """A plain boto3 client, for setting up what the adapter under test then uses."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=environ["AWS_DEFAULT_REGION"],
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
    )


@contextmanager
def _iam_enforced() -> Iterator[None]:
    """Make moto check credentials (it accepts anything by default).

    Applies to in-process moto and to ThreadedMotoServer alike, since both
    run in this process.
    """
    from moto.core.authorization import enable_iam_authentication

    with enable_iam_authentication():
        yield


class MotoBackend(Backend):
    """S3 through moto's in-process ``mock_aws`` (no sockets)."""

    name = "moto"

    def __init__(self) -> None:
        super().__init__()
        self._client: Any = None
        serialize_object_writes()

    @contextmanager
    def _mocked(self) -> Iterator[None]:
        from moto import mock_aws

        with mock_aws():
            # Creating a boto3 client costs ~0.1 s; one client serves every
            # test (moto intercepts it whenever a mock is active).
            if self._client is None:
                self._client = _s3_client(AWS_TEST_ENVIRON, None)
            self._client.create_bucket(Bucket=SHARED_CONTAINER)
            yield

    def activate(self) -> AbstractContextManager[None]:
        return self._mocked()

    def _url(self, prefix: str, options: Mapping[str, str] | None) -> str:
        query = {"region": AWS_TEST_ENVIRON["AWS_DEFAULT_REGION"], **(options or {})}
        return f"s3://{SHARED_CONTAINER}/{prefix}{_query(query)}"

    def fresh(self, options: Mapping[str, str] | None = None) -> StoreSpec:
        return StoreSpec(self._url(self._unique(), options), AWS_TEST_ENVIRON)

    @contextmanager
    def _bad(self) -> Iterator[StoreSpec]:
        environ = {**AWS_TEST_ENVIRON, "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1"}
        with _iam_enforced():
            yield StoreSpec(self._url(self._unique(), None), environ)

    def bad_credentials(self) -> AbstractContextManager[StoreSpec] | None:
        return self._bad()


class MotoServerBackend(MotoBackend):
    """S3 through moto's HTTP server on a loopback port."""

    name = "moto-server"

    def __init__(self) -> None:
        super().__init__()
        self._server = MotoServer().__enter__()
        client = _s3_client(AWS_TEST_ENVIRON, self._server.endpoint_url)
        client.create_bucket(Bucket=SHARED_CONTAINER)

    def activate(self) -> AbstractContextManager[None]:
        return nullcontext()

    def _url(self, prefix: str, options: Mapping[str, str] | None) -> str:
        return super()._url(prefix, {"endpoint_url": self._server.endpoint_url, **(options or {})})

    def close(self) -> None:
        self._server.__exit__(None, None, None)


class AzuriteBackend(Backend):
    name = "azurite"

    def __init__(self, tools: Path) -> None:
        super().__init__()
        self._server = Azurite(tools).__enter__()
        try:
            from azure.storage.blob import BlobServiceClient

            service = BlobServiceClient.from_connection_string(self._server.connection_string())
            service.create_container(SHARED_CONTAINER)
        except BaseException:
            self._server.__exit__(None, None, None)
            raise

    def fresh(self, options: Mapping[str, str] | None = None) -> StoreSpec:
        url = f"azure://{SHARED_CONTAINER}/{self._unique()}{_query(options)}"
        return StoreSpec(url, self._server.environ())

    @contextmanager
    def _bad(self) -> Iterator[StoreSpec]:
        url = f"azure://{SHARED_CONTAINER}/{self._unique()}"
        yield StoreSpec(url, self._server.environ(_WRONG_AZURE_KEY))

    def bad_credentials(self) -> AbstractContextManager[StoreSpec] | None:
        return self._bad()

    def close(self) -> None:
        self._server.__exit__(None, None, None)


class SwiftBackend(Backend):
    name = "swift"

    def __init__(self, tools: Path) -> None:
        super().__init__()
        self._server = Swift(tools).__enter__()
        try:
            import swiftclient

            connection = swiftclient.Connection(
                authurl=self._server.auth_url,
                user=self._server.environ()["ST_USER"],
                key=self._server.environ()["ST_KEY"],
                auth_version="1",
            )
            connection.put_container(SHARED_CONTAINER)
            connection.close()
        except BaseException:
            self._server.__exit__(None, None, None)
            raise

    def fresh(self, options: Mapping[str, str] | None = None) -> StoreSpec:
        url = f"swift://{SHARED_CONTAINER}/{self._unique()}{_query(options)}"
        return StoreSpec(url, self._server.environ())

    @contextmanager
    def _bad(self) -> Iterator[StoreSpec]:
        url = f"swift://{SHARED_CONTAINER}/{self._unique()}"
        yield StoreSpec(url, self._server.environ(key="wrong-key"))

    def bad_credentials(self) -> AbstractContextManager[StoreSpec] | None:
        return self._bad()

    def close(self) -> None:
        self._server.__exit__(None, None, None)


class BackendPool:
    """Starts each backend on first use and stops them all on close.

    Lazy so that a run selecting only ``file`` never starts Swift, and shared
    so that a test needing two backends at once (copying between stores)
    gets both.
    """

    def __init__(self, tools: Path) -> None:
        self._tools = tools
        self._started: dict[str, Backend] = {}
        self._stack = ExitStack()

    def get(self, name: str) -> Backend:
        if name not in self._started:
            backend = self._factories()[name]()
            self._stack.callback(backend.close)
            self._started[name] = backend
        return self._started[name]

    def _factories(self) -> dict[str, Callable[[], Backend]]:
        return {
            "memory": MemoryBackend,
            "file": FileBackend,
            "moto": MotoBackend,
            "moto-server": MotoServerBackend,
            "azurite": lambda: AzuriteBackend(self._tools),
            "swift": lambda: SwiftBackend(self._tools),
        }

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> BackendPool:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


__all__ = [
    "AZURITE_KEY",
    "BACKEND_NAMES",
    "SHARED_CONTAINER",
    "Backend",
    "BackendPool",
    "StoreSpec",
]
