"""Azure Blob Storage as an object store.

URL: ``azure://container/prefix``. The connection comes from the environment
given to the store: ``AZURE_STORAGE_CONNECTION_STRING``, or an account URL
(``account_url`` option or ``AZURE_STORAGE_ACCOUNT_URL``) with
``AZURE_STORAGE_KEY`` (account name from ``AZURE_STORAGE_ACCOUNT`` or the
URL), ``AZURE_STORAGE_SAS_TOKEN``, or, when azure-identity is installed,
``DefaultAzureCredential``. Options: ``api_version`` (pin the service
version, e.g. for an emulator), ``max_connections`` (HTTP pool size, default
64), ``retries`` (after a transient failure, default 3), ``multipart_threshold``,
``part_size`` and ``page_size`` (<= 5000).

Create-if-absent is ``If-None-Match: *`` on Put Blob, or on Put Block List
for large content: blocks are staged invisibly under per-upload IDs and the
commit is the one atomic step, so a large create appears whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import requests
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ContainerClient, LinearRetry
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mintstore.errors import (
    AlreadyExists,
    ConfigurationError,
    PreconditionFailed,
    StoreError,
    StoreUnavailable,
)

from ._transfer import MIB, LargeContent, TransferOptions, int_option, plan_upload
from .azure_errors import GUARD, error_code
from .base import (
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

DEFAULTS = TransferOptions(multipart_threshold=8 * MIB, part_size=8 * MIB, page_size=5000)
MAX_BLOCKS = 50_000
#: Downloads fetch this much per request, so an open reader holds at most
#: one such chunk (the SDK's default first request is 32 MiB).
DOWNLOAD_CHUNK = 4 * MIB


def _etag(value: object) -> str | None:
    return str(value).strip('"') if value else None


class AzureStore(ObjectStore):
    """Blobs under ``prefix`` in one container, through one shared ContainerClient.

    The client's HTTP session has a connection pool sized for parallel
    transfers and is shared by the per-blob clients made for each call.
    """

    def __init__(
        self,
        container: ContainerClient,
        prefix: str,
        *,
        transfer: TransferOptions = DEFAULTS,
        url: str | None = None,
    ) -> None:
        self._container = container
        self._root = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._transfer = transfer
        self.url = url or f"azure://{container.container_name}/{prefix}".rstrip("/")

    @classmethod
    def from_location(cls, location: StoreLocation, environ: Mapping[str, str]) -> AzureStore:
        transfer = TransferOptions.from_options(
            location.options, defaults=DEFAULTS, min_part_size=1, max_page_size=5000
        )
        container = make_container_client(location.container, location.options, environ)
        return cls(container, location.prefix, transfer=transfer, url=location.url)

    def _full(self, key: str) -> str:
        return self._root + validate_key(key)

    def _info(self, full_key: str, size: int, etag: object, modified: Any = None) -> ObjectInfo:
        return ObjectInfo(full_key[len(self._root) :], size, _etag(etag), modified)

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        full = self._full(key)
        content = plan_upload(data, self._transfer.multipart_threshold)
        conditions: dict[str, Any] = {}
        if mode is PutMode.CREATE:
            conditions = {"match_condition": MatchConditions.IfMissing}
        try:
            with GUARD.around(key):
                if isinstance(content, LargeContent):
                    return self._put_blocks(full, content, conditions)
                blob = self._container.get_blob_client(full)
                response = blob.upload_blob(
                    content,
                    length=len(content),
                    overwrite=mode is PutMode.OVERWRITE,
                    **conditions,
                )
                return self._info(
                    full, len(content), response.get("etag"), response.get("last_modified")
                )
        except PreconditionFailed as exc:
            if mode is PutMode.CREATE:
                raise AlreadyExists("object already exists", key=key) from exc
            raise

    def _put_blocks(
        self, full: str, content: LargeContent, conditions: Mapping[str, Any]
    ) -> ObjectInfo:
        """Stage blocks, then commit them in one conditional request.

        Block IDs carry a per-upload token: uncommitted blocks belong to the
        blob name, so two concurrent uploads of one key must not reuse IDs.
        Blocks of a failed upload are never visible and Azure drops them.
        """
        part_size = self._transfer.part_size
        if content.size is not None:
            part_size = max(part_size, -(-content.size // MAX_BLOCKS))
        blob = self._container.get_blob_client(full)
        token = uuid4().hex
        block_ids: list[str] = []
        size = 0
        for index, part in enumerate(content.parts(part_size)):
            block_id = f"{token}-{index:06d}"
            blob.stage_block(block_id, part, length=len(part))
            block_ids.append(block_id)
            size += len(part)
        try:
            response = blob.commit_block_list(block_ids, **conditions)  # type: ignore[arg-type]
        except HttpResponseError as exc:
            if error_code(exc) != "InvalidBlockList":
                raise
            raise self._blocks_discarded(full, creating=bool(conditions)) from exc
        return self._info(full, size, response.get("etag"), response.get("last_modified"))

    def _blocks_discarded(self, full: str, *, creating: bool) -> StoreError:
        """The error for a commit whose staged blocks another writer's commit discarded.

        Azure keeps uncommitted blocks per blob name and drops them all when
        anyone commits that blob, so of concurrent large uploads of one key
        the first commit wins and the others find their blocks gone. For a
        create that means the key now exists; for an overwrite the other
        writer's content is in place and retrying this put would replace it.
        """
        key = full[len(self._root) :]
        if creating:
            try:
                self._container.get_blob_client(full).get_blob_properties()
            except ResourceNotFoundError:
                pass
            else:
                return AlreadyExists("object already exists (a concurrent create won)", key=key)
        return StoreUnavailable(
            "a concurrent write of this key discarded this upload's staged blocks; retry the put",
            key=key,
        )

    def get(self, key: str) -> ObjectReader:
        full = self._full(key)
        with GUARD.around(key):
            downloader = self._container.get_blob_client(full).download_blob()
            properties = downloader.properties
        info = self._info(full, properties.size, properties.etag, properties.last_modified)
        return ObjectReader(info, GUARD.iterate(downloader.chunks(), key))

    def get_range(self, key: str, start: int, end: int) -> bytes:
        check_range(start, end)
        full = self._full(key)
        if end <= start:
            self.head(key)  # an empty range still needs the object to exist
            return b""
        with GUARD.around(key):
            blob = self._container.get_blob_client(full)
            try:
                return blob.download_blob(offset=start, length=end - start).readall()
            except HttpResponseError as exc:
                if exc.status_code == 416:  # start at or past the end
                    return b""
                raise

    def head(self, key: str) -> ObjectInfo:
        full = self._full(key)
        with GUARD.around(key):
            properties = self._container.get_blob_client(full).get_blob_properties()
        return self._info(full, properties.size, properties.etag, properties.last_modified)

    def delete(self, key: str) -> None:
        full = self._full(key)
        with GUARD.around(key):
            try:
                self._container.get_blob_client(full).delete_blob()
            except ResourceNotFoundError as exc:
                if getattr(exc, "error_code", None) == "ContainerNotFound":
                    raise

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        full_prefix = self._root + validate_prefix(prefix)
        return GUARD.iterate(self._pages(full_prefix, start_after), prefix or None)

    def _pages(self, full_prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        """List in name order; ``start_after`` is applied client-side.

        The List Blobs versions every emulator implements have no "start
        after" parameter and their continuation markers are opaque, so the
        listing starts at the prefix and skips names up to ``start_after``
        (in full pages of up to 5,000 names, so a skip costs little).
        """
        skip_through = None if start_after is None else self._root + start_after
        pages = self._container.list_blobs(
            name_starts_with=full_prefix or None, results_per_page=self._transfer.page_size
        ).by_page()
        for page in pages:
            for blob in page:
                if skip_through is not None and blob.name <= skip_through:
                    continue
                yield self._info(blob.name, blob.size, blob.etag, blob.last_modified)

    def close(self) -> None:
        with GUARD.around(None):
            self._container.close()


def make_container_client(
    container: str, options: Mapping[str, str], environ: Mapping[str, str]
) -> ContainerClient:
    """Build the store's ContainerClient from URL options and the given environment.

    The HTTP session is ours, not the SDK's: its pool holds
    ``max_connections`` connections (requests keeps 10 by default, which
    would serialize parallel transfers), and ``trust_env`` is off so that
    nothing is read from the process environment behind the caller's back.
    """
    pool_size = max(32, int_option(options, "max_connections", 64))
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(
        pool_connections=4,
        pool_maxsize=pool_size,
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    settings: dict[str, Any] = {
        "transport": RequestsTransport(
            session=session, session_owner=True, connection_timeout=10, read_timeout=120
        ),
        # The SDK's default backoff starts at 15 s (a minute to report an
        # unreachable service); three retries about a second apart still
        # ride out a transient failure.
        "retry_policy": LinearRetry(
            backoff=1, retry_total=max(0, int_option(options, "retries", 3)), random_jitter_range=1
        ),
        "max_single_get_size": DOWNLOAD_CHUNK,
        "max_chunk_get_size": DOWNLOAD_CHUNK,
    }
    if options.get("api_version"):
        settings["api_version"] = options["api_version"]
    try:
        connection_string = environ.get("AZURE_STORAGE_CONNECTION_STRING")
        if connection_string:
            return ContainerClient.from_connection_string(
                connection_string, container_name=container, **settings
            )
        account_url = options.get("account_url") or environ.get("AZURE_STORAGE_ACCOUNT_URL")
        if not account_url:
            raise ConfigurationError(
                "azure:// needs AZURE_STORAGE_CONNECTION_STRING, or an account URL "
                "(account_url option or AZURE_STORAGE_ACCOUNT_URL) with a credential"
            )
        credential = _credential(account_url, environ)
        return ContainerClient(account_url, container, credential=credential, **settings)
    except ValueError as exc:
        if isinstance(exc, ConfigurationError):
            raise
        raise ConfigurationError(f"cannot configure the Azure client: {exc}") from exc


def _credential(account_url: str, environ: Mapping[str, str]) -> Any:
    """The credential for an account URL: key, SAS token, or Azure AD if available."""
    key = environ.get("AZURE_STORAGE_KEY")
    if key:
        name = environ.get("AZURE_STORAGE_ACCOUNT") or _account_name(account_url)
        return {"account_name": name, "account_key": key}
    sas = environ.get("AZURE_STORAGE_SAS_TOKEN")
    if sas:
        return sas
    try:
        from azure.identity import DefaultAzureCredential  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None  # anonymous: public containers only
    return DefaultAzureCredential()


def _account_name(account_url: str) -> str:
    """``acct`` from ``https://acct.blob.core.windows.net`` or ``http://host:port/acct``."""
    parts = urlsplit(account_url)
    host = parts.hostname or ""
    if ".blob." in host:
        return host.split(".", 1)[0]
    path_name = parts.path.strip("/").split("/", 1)[0]
    if path_name:
        return path_name
    raise ConfigurationError(
        f"cannot tell the storage account name from {account_url!r}; set AZURE_STORAGE_ACCOUNT"
    )
