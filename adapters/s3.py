"""Amazon S3 (and S3-compatible services) as an object store.

URL: ``s3://bucket/prefix?endpoint_url=...&region=...``. Options:
``endpoint_url`` (else ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL`` from the
environment), ``region`` (else ``AWS_REGION``/``AWS_DEFAULT_REGION``),
``addressing_style`` (auto/path/virtual), ``max_connections`` (HTTP pool
size, default 64), ``retries`` (after a transient failure, default 4),
``connect_timeout`` and ``read_timeout`` (seconds, default 10 and 60),
``multipart_threshold``, ``part_size`` (>= 5 MiB) and ``page_size`` (<= 1000).

Create-if-absent is S3's conditional write (``If-None-Match: *``), on the
single-shot put and on the completion of a multipart upload, so a large
create is as atomic as a small one: the object appears at completion or not
at all. Every S3 call goes through ``self._client.<operation>`` in this
module, so the set of S3 permissions the adapter needs can be read from the
source (the Terraform policy is checked against it).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mintstore.errors import (
    AlreadyExists,
    ConfigurationError,
    PreconditionFailed,
    StoreError,
)

from ._transfer import MIB, LargeContent, TransferOptions, int_option, plan_upload
from .base import (
    CHUNK_SIZE,
    ObjectInfo,
    ObjectReader,
    ObjectStore,
    PutData,
    PutMode,
    check_range,
    validate_key,
    validate_prefix,
)
from .registry import StoreLocation
from .s3_errors import CONDITIONAL_CONFLICT, GUARD, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

T = TypeVar("T")

DEFAULTS = TransferOptions(multipart_threshold=8 * MIB, part_size=8 * MIB, page_size=1000)
#: S3 refuses parts below 5 MiB (except the last) and more than 10,000 parts.
MIN_PART_SIZE = 5 * MIB
MAX_PARTS = 10_000
#: How often a conditional write is retried after ConditionalRequestConflict.
CONFLICT_RETRIES = 6


def _etag(value: object) -> str | None:
    return str(value).strip('"') if value else None


class S3Store(ObjectStore):
    """Objects under ``prefix`` in one S3 bucket, through one shared boto3 client.

    boto3 clients are thread-safe, so a single client with a large connection
    pool serves every thread of the process.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str,
        *,
        transfer: TransferOptions = DEFAULTS,
        url: str | None = None,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._root = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._transfer = transfer
        self.url = url or f"s3://{bucket}/{prefix}".rstrip("/")

    @classmethod
    def from_location(cls, location: StoreLocation, environ: Mapping[str, str]) -> S3Store:
        options = location.options
        transfer = TransferOptions.from_options(
            options, defaults=DEFAULTS, min_part_size=MIN_PART_SIZE, max_page_size=1000
        )
        client = make_client(options, environ)
        return cls(client, location.container, location.prefix, transfer=transfer, url=location.url)

    # -- helpers -----------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self._root + validate_key(key)

    def _info(self, full_key: str, size: int, etag: object, modified: Any = None) -> ObjectInfo:
        return ObjectInfo(full_key[len(self._root) :], size, _etag(etag), modified)

    def _retry_conflicts(self, request: Callable[[], T]) -> T:
        """Run a conditional write, retrying while S3 reports an overlapping one."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                return request()
            except ClientError as exc:
                if error_code(exc) != CONDITIONAL_CONFLICT or attempt == CONFLICT_RETRIES - 1:
                    raise
            time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    # -- the contract -------------------------------------------------------------

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        full = self._full(key)
        content = plan_upload(data, self._transfer.multipart_threshold)
        try:
            with GUARD.around(key):
                if isinstance(content, LargeContent):
                    return self._put_multipart(full, content, mode)
                return self._put_single(full, content, mode)
        except PreconditionFailed as exc:
            if mode is PutMode.CREATE:
                raise AlreadyExists("object already exists", key=key) from exc
            raise

    def _put_single(self, full: str, content: bytes, mode: PutMode) -> ObjectInfo:
        if mode is PutMode.CREATE:
            response = self._retry_conflicts(
                lambda: self._client.put_object(
                    Bucket=self._bucket, Key=full, Body=content, IfNoneMatch="*"
                )
            )
        else:
            response = self._client.put_object(Bucket=self._bucket, Key=full, Body=content)
        return self._info(full, len(content), response.get("ETag"))

    def _put_multipart(self, full: str, content: LargeContent, mode: PutMode) -> ObjectInfo:
        part_size = self._transfer.part_size
        if content.size is not None:
            part_size = max(part_size, -(-content.size // MAX_PARTS))
        upload_id = self._client.create_multipart_upload(Bucket=self._bucket, Key=full)["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            size = 0
            for number, body in enumerate(content.parts(part_size), start=1):
                if number > MAX_PARTS:
                    raise StoreError(
                        f"object exceeds {MAX_PARTS} parts of {part_size} bytes; "
                        "raise part_size in the store URL",
                        key=full[len(self._root) :],
                    )
                response = self._client.upload_part(
                    Bucket=self._bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
                size += len(body)
            completed = self._complete(full, upload_id, parts, mode)
        except BaseException:
            self._abort(full, upload_id)
            raise
        return self._info(full, size, completed.get("ETag"))

    def _complete(
        self, full: str, upload_id: str, parts: list[CompletedPartTypeDef], mode: PutMode
    ) -> Mapping[str, Any]:
        if mode is PutMode.CREATE:
            return self._retry_conflicts(
                lambda: self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=full,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
            )
        return self._client.complete_multipart_upload(
            Bucket=self._bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    def _abort(self, full: str, upload_id: str) -> None:
        """Discard a failed multipart upload so its parts are not billed forever.

        Best effort: the original failure is what the caller must see, and a
        bucket lifecycle rule (AbortIncompleteMultipartUpload) sweeps what is left.
        """
        with contextlib.suppress(BotoCoreError, ClientError):
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=full, UploadId=upload_id)

    def get(self, key: str) -> ObjectReader:
        full = self._full(key)
        with GUARD.around(key):
            response = self._client.get_object(Bucket=self._bucket, Key=full)
        body = response["Body"]
        info = self._info(
            full, response["ContentLength"], response.get("ETag"), response.get("LastModified")
        )
        return ObjectReader(
            info,
            GUARD.iterate(body.iter_chunks(CHUNK_SIZE), key),
            on_close=lambda: GUARD.call(body.close, key),
        )

    def get_range(self, key: str, start: int, end: int) -> bytes:
        check_range(start, end)
        full = self._full(key)
        if end <= start:
            self.head(key)  # an empty range still needs the object to exist
            return b""
        with GUARD.around(key):
            try:
                response = self._client.get_object(
                    Bucket=self._bucket, Key=full, Range=f"bytes={start}-{end - 1}"
                )
            except ClientError as exc:
                if error_code(exc) == "InvalidRange":  # start at or past the end
                    return b""
                raise
            body = response["Body"]
            try:
                return body.read()
            finally:
                body.close()

    def head(self, key: str) -> ObjectInfo:
        full = self._full(key)
        with GUARD.around(key):
            response = self._client.head_object(Bucket=self._bucket, Key=full)
        return self._info(
            full, response["ContentLength"], response.get("ETag"), response.get("LastModified")
        )

    def delete(self, key: str) -> None:
        full = self._full(key)
        with GUARD.around(key):
            self._client.delete_object(Bucket=self._bucket, Key=full)

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        full_prefix = self._root + validate_prefix(prefix)
        return GUARD.iterate(self._pages(full_prefix, start_after), prefix or None)

    def _pages(self, full_prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        request: dict[str, Any] = {
            "Bucket": self._bucket,
            "Prefix": full_prefix,
            "MaxKeys": self._transfer.page_size,
        }
        if start_after is not None:
            request["StartAfter"] = self._root + start_after
        while True:
            response = self._client.list_objects_v2(**request)
            for entry in response.get("Contents", []):
                yield self._info(
                    entry["Key"], entry["Size"], entry.get("ETag"), entry["LastModified"]
                )
            token = response.get("NextContinuationToken")
            if not response.get("IsTruncated") or not token:
                return
            request["ContinuationToken"] = token

    def close(self) -> None:
        self._client.close()


_ADDRESSING_STYLES: dict[str, Literal["auto", "path", "virtual"]] = {
    "auto": "auto",
    "path": "path",
    "virtual": "virtual",
}


def make_client(options: Mapping[str, str], environ: Mapping[str, str]) -> S3Client:
    """Build the one S3 client of a store from URL options and the given environment.

    Credentials given in ``environ`` are passed to the session explicitly;
    absent ones are left to boto3's own chain (profile, SSO, instance role).
    The pool is sized for parallel transfers: botocore's default of 10
    connections would serialize a 32-thread copy.
    """
    access_key = environ.get("AWS_ACCESS_KEY_ID")
    secret_key = environ.get("AWS_SECRET_ACCESS_KEY")
    if (access_key is None) != (secret_key is None):
        raise ConfigurationError("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
    region = options.get("region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    endpoint_url = (
        options.get("endpoint_url")
        or environ.get("AWS_ENDPOINT_URL_S3")
        or environ.get("AWS_ENDPOINT_URL")
        or None
    )
    addressing_style = _ADDRESSING_STYLES.get(options.get("addressing_style", "auto"))
    if addressing_style is None:
        raise ConfigurationError("addressing_style must be auto, path or virtual")
    config = Config(
        max_pool_connections=max(32, int_option(options, "max_connections", 64)),
        retries={"max_attempts": 1 + max(0, int_option(options, "retries", 4)), "mode": "standard"},
        connect_timeout=int_option(options, "connect_timeout", 10),
        read_timeout=int_option(options, "read_timeout", 60),
        s3={"addressing_style": addressing_style},
        user_agent_extra="mintstore",
    )
    try:
        session = boto3.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=environ.get("AWS_SESSION_TOKEN"),
            region_name=region,
            profile_name=environ.get("AWS_PROFILE"),
        )
        return session.client("s3", endpoint_url=endpoint_url, config=config)
    except (BotoCoreError, ValueError) as exc:
        raise ConfigurationError(f"cannot configure the S3 client: {exc}") from exc
