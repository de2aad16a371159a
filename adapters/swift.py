"""OpenStack Swift as an object store.

URL: ``swift://container/prefix``; auth from the environment given to the
store (see :mod:`.swift_connections`). Options: ``multipart_threshold``,
``part_size``, ``page_size`` (<= 10000), ``retries`` (after a transient
failure, default 3).

Large objects are Static Large Objects: segments are uploaded under
``~segments/<upload id>/`` in the same container (``~`` is outside the key
alphabet, so no key can collide with a segment and listings end before
them), then the manifest is PUT; the manifest PUT is the atomic step. A
large overwrite removes the segments of the SLO it replaces (one HEAD before
the upload, negligible next to it); a small overwrite does not look, since
that HEAD would cost as much as the PUT itself, so overwriting an SLO with
small content leaves its segments behind (``delete`` first to avoid that;
the storage engine never shrinks an object in place).

Create-if-absent: Swift checks ``If-None-Match: *`` when a PUT *starts* and
writes the object when it *ends*, with no lock in between, so concurrent
creates of one key can all pass the check (measured here: 14 of 20 races of
16 writers had several winners). The newest write then silently replaces
the others. The adapter therefore tags each create with a random token and
reads the object back (``X-Newest``) after a successful PUT: a writer whose
token is not the one stored lost the race and gets ``AlreadyExists``. A
residual window remains: a competing PUT that passed the check before this
one landed but lands after the read-back (it would have to stall mid-upload
for longer than this writer's whole read-back). Swift offers no primitive
that closes it; ``If-Match`` on PUT is ignored by Swift, so it is never used.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from uuid import uuid4

from swiftclient import ClientException

from mintstore.errors import AlreadyExists, StoreError

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
from .swift_connections import ConnectionPool, SwiftSettings
from .swift_errors import GUARD, SDK_ERRORS

DEFAULTS = TransferOptions(multipart_threshold=8 * MIB, part_size=8 * MIB, page_size=10_000)
#: Segments live here; "~" sorts after every key character.
SEGMENT_ROOT = "~segments/"
#: Listings stop before this name, which hides the segment namespace.
LISTING_END = "~"
#: Swift's default ``max_manifest_segments``.
MAX_SEGMENTS = 1000
#: Metadata carrying the random token of a create, to tell who won a race.
CREATE_TOKEN = "X-Object-Meta-Mintstore-Create"


class Resendable(bytes):
    """Bytes that swiftclient may send again after a retry or a re-auth.

    swiftclient retries a put only if it can rewind the content (``seek`` or
    ``reset``); for plain bytes it raises "no ability to reset contents for
    reupload" instead, which hid the 401 of bad credentials behind a generic
    error. Bytes need no rewinding, hence the no-op.
    """

    def reset(self, *args: object, **kwargs: object) -> None:
        return None


def _etag(value: object) -> str | None:
    return str(value).strip('"') if value else None


def _timestamp(headers: Mapping[str, str]) -> datetime | None:
    raw = headers.get("x-timestamp")
    return datetime.fromtimestamp(float(raw), UTC) if raw else None


def _is_slo(headers: Mapping[str, str]) -> bool:
    return headers.get("x-static-large-object", "").lower() == "true"


class SwiftStore(ObjectStore):
    """Objects under ``prefix`` in one Swift container, via a pool of connections."""

    def __init__(
        self,
        pool: ConnectionPool,
        container: str,
        prefix: str,
        *,
        transfer: TransferOptions = DEFAULTS,
        url: str | None = None,
    ) -> None:
        self._pool = pool
        self._container = container
        self._root = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._transfer = transfer
        self.url = url or f"swift://{container}/{prefix}".rstrip("/")

    @classmethod
    def from_location(cls, location: StoreLocation, environ: Mapping[str, str]) -> SwiftStore:
        transfer = TransferOptions.from_options(
            location.options, defaults=DEFAULTS, min_part_size=1, max_page_size=10_000
        )
        pool = ConnectionPool(
            SwiftSettings.from_environ(environ),
            retries=max(0, int_option(location.options, "retries", 3)),
        )
        return cls(pool, location.container, location.prefix, transfer=transfer, url=location.url)

    def _full(self, key: str) -> str:
        return self._root + validate_key(key)

    def _info(self, full_key: str, headers: Mapping[str, str]) -> ObjectInfo:
        return ObjectInfo(
            full_key[len(self._root) :],
            int(headers.get("content-length", 0)),
            _etag(headers.get("etag")),
            _timestamp(headers),
        )

    # -- put ----------------------------------------------------------------------

    def put(self, key: str, data: PutData, *, mode: PutMode = PutMode.OVERWRITE) -> ObjectInfo:
        full = self._full(key)
        content = plan_upload(data, self._transfer.multipart_threshold)
        headers: dict[str, str] = {}
        token = ""
        replaced: list[str] = []
        with GUARD.around(key):
            if mode is PutMode.CREATE:
                token = uuid4().hex
                headers = {"If-None-Match": "*", CREATE_TOKEN: token}
            elif isinstance(content, LargeContent):
                replaced = self._our_segments(full)
            segments: list[str] = []
            try:
                if isinstance(content, LargeContent):
                    segments, etag, size = self._put_slo(full, content, headers)
                else:
                    etag, size = self._put_plain(full, content, headers), len(content)
            except ClientException as exc:
                if mode is PutMode.CREATE and exc.http_status in (409, 412):
                    raise AlreadyExists("object already exists", key=key) from exc
                raise
            if mode is PutMode.CREATE:
                self._confirm_create(full, key, token, segments)
            self._delete_segments(replaced)
        return ObjectInfo(key, size, _etag(etag), None)

    def _put_plain(self, full: str, content: bytes, headers: Mapping[str, str]) -> str:
        with self._pool.connection() as connection:
            return str(
                connection.put_object(
                    self._container,
                    full,
                    contents=Resendable(content),
                    content_length=len(content),
                    headers=dict(headers),
                )
            )

    def _put_slo(
        self, full: str, content: LargeContent, headers: Mapping[str, str]
    ) -> tuple[list[str], str, int]:
        """Upload segments, then the manifest; on any failure remove the segments."""
        part_size = self._transfer.part_size
        if content.size is not None:
            part_size = max(part_size, -(-content.size // MAX_SEGMENTS))
        upload = f"{SEGMENT_ROOT}{uuid4().hex}/"
        names: list[str] = []
        manifest: list[dict[str, Any]] = []
        try:
            for index, part in enumerate(content.parts(part_size)):
                if index >= MAX_SEGMENTS:
                    raise StoreError(
                        f"object exceeds {MAX_SEGMENTS} segments of {part_size} bytes; "
                        "raise part_size in the store URL",
                        key=full[len(self._root) :],
                    )
                name = f"{upload}{index:08d}"
                names.append(name)
                with self._pool.connection() as connection:
                    etag = connection.put_object(
                        self._container, name, contents=Resendable(part), content_length=len(part)
                    )
                manifest.append(
                    {
                        "path": f"/{quote(self._container)}/{name}",
                        "etag": etag,
                        "size_bytes": len(part),
                    }
                )
            body = json.dumps(manifest).encode()
            with self._pool.connection() as connection:
                etag = connection.put_object(
                    self._container,
                    full,
                    contents=Resendable(body),
                    content_length=len(body),
                    query_string="multipart-manifest=put",
                    headers=dict(headers),
                )
        except BaseException:
            self._delete_segments(names)
            raise
        return names, str(etag), sum(entry["size_bytes"] for entry in manifest)

    def _confirm_create(self, full: str, key: str, token: str, segments: list[str]) -> None:
        """Read the object back to learn whether this create won (see module docstring)."""
        try:
            with self._pool.connection() as connection:
                stored = connection.head_object(self._container, full, headers={"X-Newest": "true"})
        except ClientException as exc:
            if exc.http_status == 404:
                return  # created, then deleted by someone else: the create itself won
            raise
        if stored.get(CREATE_TOKEN.lower()) != token:
            self._delete_segments(segments)
            raise AlreadyExists("object already exists (a concurrent create won)", key=key)

    # -- segments -----------------------------------------------------------------

    def _our_segments(self, full: str) -> list[str]:
        """The segments of the object at ``full`` if it is an SLO written by this adapter."""
        try:
            with self._pool.connection() as connection:
                headers = connection.head_object(self._container, full)
                if not _is_slo(headers):
                    return []
                _, body = connection.get_object(
                    self._container, full, query_string="multipart-manifest=get"
                )
        except ClientException as exc:
            if exc.http_status == 404:
                return []
            raise
        container_path = f"/{self._container}/"
        names = [str(entry.get("name", "")) for entry in json.loads(body)]
        return [
            name[len(container_path) :]
            for name in names
            if name.startswith(container_path + SEGMENT_ROOT)
        ]

    def _delete_segments(self, names: list[str]) -> None:
        """Best-effort removal of segments nothing refers to any more.

        Never raises: it runs after the outcome of a put is decided, and a
        leftover segment is only wasted space.
        """
        for name in names:
            with (
                contextlib.suppress(*SDK_ERRORS),
                self._pool.connection() as connection,
            ):
                connection.delete_object(self._container, name)

    # -- reads ----------------------------------------------------------------------

    def get(self, key: str) -> ObjectReader:
        full = self._full(key)
        connection = self._pool.take()
        try:
            with GUARD.around(key):
                headers, body = connection.get_object(
                    self._container, full, resp_chunk_size=CHUNK_SIZE
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, ClientException):
                self._pool.give_back(connection)
            else:
                connection.close()
            raise

        def release() -> None:
            try:
                GUARD.call(body.close, key)
            finally:
                self._pool.give_back(connection)

        return ObjectReader(self._info(full, headers), GUARD.iterate(body, key), on_close=release)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        check_range(start, end)
        full = self._full(key)
        if end <= start:
            self.head(key)  # an empty range still needs the object to exist
            return b""
        with GUARD.around(key):
            try:
                with self._pool.connection() as connection:
                    _, body = connection.get_object(
                        self._container, full, headers={"Range": f"bytes={start}-{end - 1}"}
                    )
            except ClientException as exc:
                if exc.http_status == 416:  # start at or past the end (or an empty object)
                    return b""
                raise
        return bytes(body)

    def head(self, key: str) -> ObjectInfo:
        full = self._full(key)
        with GUARD.around(key), self._pool.connection() as connection:
            headers = connection.head_object(self._container, full)
        return self._info(full, headers)

    def delete(self, key: str) -> None:
        """Delete the object; an SLO goes with its segments in one bulk request."""
        full = self._full(key)
        with GUARD.around(key):
            try:
                with self._pool.connection() as connection:
                    headers = connection.head_object(self._container, full)
                    query = "multipart-manifest=delete" if _is_slo(headers) else None
                    connection.delete_object(self._container, full, query_string=query)
            except ClientException as exc:
                if exc.http_status != 404:
                    raise

    def list(self, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        full_prefix = self._root + validate_prefix(prefix)
        return GUARD.iterate(self._pages(full_prefix, start_after), prefix or None)

    def _pages(self, full_prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        """Page with ``marker`` (Swift's own "start after") until a short page."""
        marker = None if start_after is None else self._root + start_after
        page_size = self._transfer.page_size
        while True:
            with self._pool.connection() as connection:
                _, page = connection.get_container(
                    self._container,
                    prefix=full_prefix or None,
                    marker=marker,
                    limit=page_size,
                    end_marker=LISTING_END,
                )
            for entry in page:
                modified = datetime.fromisoformat(entry["last_modified"]).replace(tzinfo=UTC)
                etag = entry.get("slo_etag") or entry.get("hash")
                yield ObjectInfo(
                    entry["name"][len(self._root) :], int(entry["bytes"]), _etag(etag), modified
                )
            if len(page) < page_size:
                return
            marker = page[-1]["name"]

    def close(self) -> None:
        self._pool.close()
