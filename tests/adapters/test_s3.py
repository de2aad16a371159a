"""S3 adapter behaviour the shared conformance suite cannot express.

Multipart uploads abandoned on failure, the ConditionalRequestConflict
retry, translation of failures that no emulator produces on demand (a body
broken mid-stream), and how the client is configured from the environment.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from urllib3.exceptions import ProtocolError

from mintstore.adapters import PutMode, open_store
from mintstore.adapters.s3 import CONFLICT_RETRIES, S3Store, make_client
from mintstore.adapters.s3_errors import translate
from mintstore.errors import (
    AccessDenied,
    AlreadyExists,
    ConfigurationError,
    NotFound,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
)
from mintstore.testing.backends import SHARED_CONTAINER, BackendPool, StoreSpec

MIB = 1024 * 1024
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def moto_spec(backend_pool: BackendPool) -> Iterator[StoreSpec]:
    backend = backend_pool.get("moto")
    with backend.activate():
        # part_size at S3's minimum so a 6 MiB stream makes two parts.
        yield backend.fresh({"multipart_threshold": "0", "part_size": str(5 * MIB)})


def _raw_client(spec: StoreSpec) -> Any:
    return boto3.client(
        "s3",
        region_name=spec.environ["AWS_DEFAULT_REGION"],
        aws_access_key_id=spec.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=spec.environ["AWS_SECRET_ACCESS_KEY"],
    )


class FailingStream(io.RawIOBase):
    """Gives ``good`` bytes, then fails like a dropped client connection."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._left == 0:
            raise OSError("client went away")
        count = min(len(buffer), self._left, 256 * 1024)
        buffer[:count] = b"x" * count
        self._left -= count
        return count


def test_failed_multipart_upload_is_aborted(moto_spec: StoreSpec) -> None:
    with moto_spec.open() as store:
        # The caller's own stream error propagates untranslated: it is not the store's.
        with pytest.raises(OSError, match="client went away"):
            store.put("big", io.BufferedReader(FailingStream(6 * MIB)))
        with pytest.raises(NotFound):
            store.head("big")
    uploads = _raw_client(moto_spec).list_multipart_uploads(Bucket=SHARED_CONTAINER)
    assert uploads.get("Uploads", []) == []


def test_lost_multipart_create_is_aborted(moto_spec: StoreSpec) -> None:
    with moto_spec.open() as store:
        store.put("key", b"first", mode=PutMode.CREATE)
        with pytest.raises(AlreadyExists):
            store.put("key", io.BytesIO(b"y" * (6 * MIB)), mode=PutMode.CREATE)
        assert store.get_bytes("key") == b"first"
    uploads = _raw_client(moto_spec).list_multipart_uploads(Bucket=SHARED_CONTAINER)
    assert uploads.get("Uploads", []) == []


def _stubbed_store() -> tuple[S3Store, Stubber]:
    client = make_client({"region": "us-east-1", "retries": "0"}, FAKE_ENV)
    return S3Store(client, "bucket", "root"), Stubber(client)


def test_conditional_conflict_is_retried() -> None:
    store, stubber = _stubbed_store()
    for _ in range(2):
        stubber.add_client_error(
            "put_object", service_error_code="ConditionalRequestConflict", http_status_code=409
        )
    stubber.add_response("put_object", {"ETag": '"abc"'})
    with stubber:
        info = store.put("key", b"data", mode=PutMode.CREATE)
        stubber.assert_no_pending_responses()
    assert info.etag == "abc"


def test_endless_conditional_conflicts_are_a_store_error_not_already_exists() -> None:
    store, stubber = _stubbed_store()
    for _ in range(CONFLICT_RETRIES):
        stubber.add_client_error(
            "put_object", service_error_code="ConditionalRequestConflict", http_status_code=409
        )
    with stubber, pytest.raises(StoreError) as caught:
        store.put("key", b"data", mode=PutMode.CREATE)
    assert not isinstance(caught.value, AlreadyExists)
    assert "ConditionalRequestConflict" in str(caught.value)


class BrokenRaw(io.RawIOBase):
    """A socket that drops after a few bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._sent = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._sent:
            raise ProtocolError("connection broken")
        self._sent = True
        return b"abc"


def test_a_body_broken_mid_stream_is_store_unavailable() -> None:
    store, stubber = _stubbed_store()
    stubber.add_response(
        "get_object",
        {"Body": StreamingBody(cast(Any, BrokenRaw()), 10), "ContentLength": 10, "ETag": '"e"'},
    )
    with stubber, store.get("key") as reader, pytest.raises(StoreUnavailable) as caught:
        reader.read()
    assert caught.value.key == "key"


def _client_error(code: str, status: int) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, NotFound),
        ("404", 404, NotFound),
        ("PreconditionFailed", 412, PreconditionFailed),
        ("InvalidAccessKeyId", 403, AccessDenied),
        ("SignatureDoesNotMatch", 403, AccessDenied),
        ("SomethingNew", 403, AccessDenied),
        ("SlowDown", 503, StoreUnavailable),
        ("SomethingNew", 500, StoreUnavailable),
        ("NoSuchBucket", 404, StoreError),
        ("InvalidArgument", 400, StoreError),
    ],
)
def test_error_table(code: str, status: int, expected: type[StoreError]) -> None:
    error = translate(_client_error(code, status), "some/key")
    assert type(error) is expected
    assert error.key == "some/key"


def test_client_is_built_from_the_given_environment_only() -> None:
    environ = {**FAKE_ENV, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}
    client = make_client({}, environ)
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == "us-east-1"
    assert cast(Any, client.meta.config).max_pool_connections >= 32


def test_half_given_credentials_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="AWS_SECRET_ACCESS_KEY"):
        make_client({}, {"AWS_ACCESS_KEY_ID": "only-the-id"})


@pytest.mark.parametrize(
    "query",
    ["part_size=1024", "page_size=5000", "multipart_threshold=-1", "addressing_style=odd"],
)
def test_unusable_options_are_refused(query: str) -> None:
    with pytest.raises(ConfigurationError):
        open_store(f"s3://bucket/p?region=us-east-1&{query}", FAKE_ENV)


def test_unreachable_endpoint_is_store_unavailable() -> None:
    url = "s3://bucket/p?region=us-east-1&retries=0&endpoint_url=http://127.0.0.1:9"
    with open_store(url, FAKE_ENV) as store, pytest.raises(StoreUnavailable):
        store.head("key")
