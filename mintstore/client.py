"""A Python client for the MINT HTTP API of mintstore.

Built on :mod:`http.client` so uploads and downloads stream: request bodies
are generators sent with chunked transfer encoding, responses are read in
chunks. Server errors come back as the same :mod:`mintstore.errors` classes
the server raised (the error body names them), so code using the client
handles failures exactly like code using the store directly.
"""

from __future__ import annotations

import http.client
import io
import json
import secrets
import select
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlencode, urlsplit

from lxml import etree

from mintstore import errors, formats
from mintstore.model import Study
from mintstore.multipart import (
    OutPart,
    ReadStream,
    form_content_type,
    form_part,
    iter_counted_parts,
    iter_multipart,
    multipart_length,
    related_content_type,
)

CHUNK = 1024 * 1024
MINT_NS = "{http://medical.nema.org/mint}"

ItemSource = Iterable[tuple[int, int, Callable[[], ReadStream]]]
"""Binary items to upload: (bid, size, opener) like ``StudyStore.iter_items``."""


@dataclass(frozen=True)
class StudyResult:
    """One study the server reported after an upload."""

    study_uid: str
    version: int
    created: bool
    changed: bool


@dataclass(frozen=True)
class SearchResult:
    """One hit of a search."""

    study_uid: str
    version: int
    last_modified: str


def _error_for(status: int, kind: str, message: str) -> errors.MintError:
    """Rebuild the server's error: same class when it is one of ours."""
    error_class = getattr(errors, kind, None)
    if isinstance(error_class, type) and issubclass(error_class, errors.MintError):
        # Some errors carry more than a message (DuplicateInstance): fall back
        # to the nearest ancestor that is built from a message alone.
        for candidate in error_class.__mro__:
            if isinstance(candidate, type) and issubclass(candidate, errors.MintError):
                try:
                    built: errors.MintError = candidate(message)
                except TypeError:
                    continue
                return built
    if status in (401, 403):
        return errors.AccessDenied(f"HTTP {status}: {message}")
    if status == 404:
        return errors.ItemNotFound(message)
    if status in (400, 413, 415):
        return errors.InvalidInput(f"HTTP {status}: {message}")
    if status in (502, 503, 504):
        return errors.StoreUnavailable(f"HTTP {status}: {message}")
    return errors.StoreError(f"HTTP {status}: {message}")


class MintClient:
    """One server (base URL including any base path) and an optional bearer token.

    Thread-safe: each thread gets its own keep-alive connection.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 300.0) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.ConfigurationError(f"not an http(s) server URL: {url!r}")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path
        self._token = token
        self._timeout = timeout
        self._local = threading.local()
        self._origin = f"{parts.scheme}://{parts.netloc}"

    # -- transport --------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            factory = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            connection = factory(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        elif _dropped(connection):
            # The server closed this idle keep-alive connection (its keep-alive
            # timeout). A request without a body is retried on a new one below, but
            # a streamed body cannot be sent twice: open the new one before sending.
            connection.close()
        return connection

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        length: int | None = None,
    ) -> http.client.HTTPResponse:
        """Send a request; return the open response or raise the server's error.

        The caller reads (and so releases) the response. Iterable bodies are
        streamed, so they are never held in memory: with the exact ``length``
        when the caller knows it (a Content-Length body: no chunk framing to
        build or parse, and the server reads it straight into its buffer),
        else chunked.
        """
        target = self._base + path + (("?" + urlencode(query)) if query else "")
        all_headers = dict(headers or {})
        if self._token:
            all_headers["Authorization"] = f"Bearer {self._token}"
        streamed = body is not None and not isinstance(body, bytes)
        chunked = streamed and length is None
        if streamed and length is not None:
            all_headers["Content-Length"] = str(length)
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(
                    method, target, body=body, headers=all_headers, encode_chunked=chunked
                )
                response = connection.getresponse()
                break
            except (ConnectionError, http.client.HTTPException) as exc:
                self.close()
                # A keep-alive connection the server closed is retried once,
                # but only when the body can be sent again.
                if attempt == 2 or streamed:
                    raise errors.StoreUnavailable(
                        f"{method} {self._origin}{target}: {exc}"
                    ) from exc
            except OSError as exc:
                self.close()
                raise errors.StoreUnavailable(f"{method} {self._origin}{target}: {exc}") from exc
        if response.status not in ok:
            raise self._error(response)
        return response

    def _error(self, response: http.client.HTTPResponse) -> errors.MintError:
        data = response.read(1024 * 1024)
        kind, message = "", data.decode("utf-8", "replace")[:2000]
        try:
            if data.lstrip().startswith(b"{"):
                parsed = json.loads(data)
                kind, message = parsed.get("error", ""), parsed.get("message", message)
            elif data.lstrip().startswith(b"<"):
                root = etree.fromstring(data, etree.XMLParser(resolve_entities=False))
                kind = root.get("type", "")
                message = "".join(str(text) for text in root.itertext()).strip() or message
        except (ValueError, etree.XMLSyntaxError):
            pass
        return _error_for(response.status, kind, message)

    def _read(self, path: str, **kwargs: object) -> bytes:
        response = self.request("GET", path, **kwargs)  # type: ignore[arg-type]
        return response.read()

    def _xml(self, path: str, query: Mapping[str, str | int] | None = None) -> etree._Element:
        data = self._read(path, query=query, headers={"Accept": "application/xml"})
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))

    # -- server ---------------------------------------------------------------

    def ping(self) -> bool:
        """True if ``HEAD {base}/`` answers 200 (what the RI clients check)."""
        self.request("HEAD", "/").read()
        return True

    def type_dictionary(self, type_name: str = "DICOM") -> bytes:
        """The type dictionary document."""
        return self._read(f"/types/{quote(type_name)}")

    # -- writing --------------------------------------------------------------

    def push_files(
        self, paths: Iterable[Path], on_bytes: Callable[[int], None] | None = None
    ) -> list[StudyResult]:
        """Send Part-10 files in one ``multipart/related`` request (streamed)."""
        boundary = "mintstore-" + secrets.token_hex(12)
        parts = [
            OutPart("application/dicom", "", path.stat().st_size, _file_opener(path, on_bytes))
            for path in paths
        ]
        response = self.request(
            "POST",
            "/studies/create",
            body=iter_multipart(parts, boundary, crlf=True),
            headers={"Content-Type": related_content_type(boundary, "application/dicom")},
            ok=(200, 201),
            length=multipart_length(parts, boundary, crlf=True),
        )
        return _study_results(response.read())

    def upload_mint(self, metadata: Study, items: ItemSource) -> int:
        """Send a study as MINT parts (metadata XML + binaryN); returns binary bytes sent."""
        boundary = "mintstore-" + secrets.token_hex(12)
        sent = [0]
        self.request(
            "POST",
            "/studies/create",
            body=_mint_form_body(boundary, metadata, items, sent),
            headers={"Content-Type": form_content_type(boundary)},
            ok=(200, 201),
        ).read()
        return sent[0]

    def lock(self, study_uid: str) -> tuple[str, str]:
        """Take the update lock; returns (token, expiry)."""
        response = self.request("POST", f"/studies/{study_uid}", query={"lock": "true"}, body=b"")
        root = etree.fromstring(response.read(), etree.XMLParser(resolve_entities=False))
        return root.get("token", ""), root.get("expires", "")

    def unlock(self, study_uid: str, token: str) -> None:
        """Release the update lock."""
        self.request(
            "DELETE", f"/studies/{study_uid}/lock", query={"token": token}, ok=(204,)
        ).read()

    def update(
        self,
        study_uid: str,
        delta: Study,
        items: ItemSource = (),
        *,
        lock_token: str | None = None,
        old_version: int | None = None,
    ) -> int:
        """Apply a delta (with a lock token or an oldVersion guard); returns the new version."""
        query: dict[str, str | int] = {}
        if lock_token is not None:
            query["lock"] = lock_token
        if old_version is not None:
            query["oldVersion"] = old_version
        boundary = "mintstore-" + secrets.token_hex(12)
        response = self.request(
            "POST",
            f"/studies/{study_uid}",
            query=query,
            body=_mint_form_body(boundary, delta, items, [0]),
            headers={"Content-Type": form_content_type(boundary)},
        )
        root = etree.fromstring(response.read(), etree.XMLParser(resolve_entities=False))
        return int(root.get("version", "-1"))

    def delete(self, study_uid: str) -> None:
        """Delete a study (reads answer 410 afterwards)."""
        self.request("DELETE", f"/studies/{study_uid}", ok=(204,)).read()

    def copy(self, study_uid: str, target: str, *, move: bool = False) -> dict[str, str]:
        """Copy (or move) a study to a named store or another server; the server's report."""
        response = self.request(
            "POST",
            f"/studies/{study_uid}",
            query={"action": "move" if move else "copy", "target": target},
            body=b"",
        )
        root = etree.fromstring(response.read(), etree.XMLParser(resolve_entities=False))
        return {str(k): str(v) for k, v in root.attrib.items()}

    # -- reading --------------------------------------------------------------

    def study_version(self, study_uid: str) -> int:
        """The study's current version (from its studyRoot)."""
        return int(self._xml(f"/studies/{study_uid}").get("version", "-1"))

    def metadata(
        self, study_uid: str, *, variant: str = "gpb", version: int | None = None
    ) -> Study:
        """The study's metadata, fetched in ``variant`` (gpb, xml, json, optionally .gz)."""
        name = "metadata." + variant
        fmt, gzipped = formats.parse_variant(name)
        query = {"version": version} if version is not None else None
        data = self._read(f"/studies/{study_uid}/DICOM/{name}", query=query)
        return formats.decode(data, fmt, gzip=gzipped)

    def summary(self, study_uid: str, *, variant: str = "gpb") -> Study:
        """The study's summary (study and series attributes, instance counts)."""
        name = "summary." + variant
        fmt, gzipped = formats.parse_variant(name)
        return formats.decode(self._read(f"/studies/{study_uid}/DICOM/{name}"), fmt, gzip=gzipped)

    def series(self, study_uid: str, series_uid: str) -> Study:
        """One series' slice of the metadata."""
        data = self._read(
            f"/studies/{study_uid}/{series_uid}", headers={"Accept": "application/xml"}
        )
        return formats.decode(data, "xml")

    def change_payload(self, study_uid: str, number: int) -> Study:
        """What change ``number`` of the study uploaded."""
        data = self._read(f"/studies/{study_uid}/changelog/{number}.gpb")
        return formats.decode(data, "gpb")

    def reports(self, study_uid: str) -> list[dict[str, object]]:
        """The study's structured reports as content trees."""
        data = self._read(f"/studies/{study_uid}/DICOM/reports.json")
        reports: list[dict[str, object]] = json.loads(data)["reports"]
        return reports

    def study_zip(self, study_uid: str, out: IO[bytes]) -> int:
        """Write the study's Part-10 files as a ZIP to ``out``; returns its size."""
        response = self.request(
            "GET", f"/studies/{study_uid}", headers={"Accept": "application/zip"}
        )
        return _copy(response, out)

    def whole_study(self, study_uid: str) -> Iterator[tuple[str, bytes]]:
        """The entire study in one message: (Content-ID, content) for metadata, then each item."""
        response = self.request(
            "GET", f"/studies/{study_uid}", headers={"Accept": "multipart/related"}
        )
        yield from read_parts(response)

    def job_status(self, job_path: str) -> dict[str, str]:
        """An RI job's status attributes (``job_path``: the id or ``status/<id>``)."""
        job_id = job_path.rsplit("/", 1)[-1]
        root = self._xml(f"/jobs/status/{job_id}")
        status = {str(k): str(v) for k, v in root.attrib.items()}
        reason = root.findtext(f"{MINT_NS}reason")
        if reason:
            status["reason"] = reason
        return status

    def types(self) -> list[str]:
        """The names of the types the server knows."""
        return [node.get("name", "") for node in self._xml("/types").iter(f"{MINT_NS}type")]

    def binary_item(self, study_uid: str, bid: int) -> bytes:
        """One binary item."""
        return self._read(f"/studies/{study_uid}/DICOM/binaryitems/{bid}")

    def iter_binary_items(
        self, study_uid: str, selection: str = "all"
    ) -> Iterator[tuple[int, bytes]]:
        """Items of a selection from the RI's multi-item stream, read line by line."""
        response = self.request("GET", f"/studies/{study_uid}/DICOM/binaryitems/{selection}")
        yield from read_ri_multipart(response)

    def instance(self, study_uid: str, series_uid: str, sop_uid: str, out: IO[bytes]) -> int:
        """Write one instance's Part-10 file to ``out``; returns its size."""
        response = self.request("GET", f"/studies/{study_uid}/{series_uid}/{sop_uid}")
        return _copy(response, out)

    def search(self, **parameters: str | int) -> Iterator[SearchResult]:
        """Every study matching the parameters, following continuation tokens."""
        query: dict[str, str | int] = dict(parameters)
        while True:
            root = self._xml("/studies", query)
            for node in root.iter(f"{MINT_NS}study"):
                yield SearchResult(
                    node.get("studyUUID", ""),
                    int(node.get("version", "-1")),
                    node.get("lastModified", ""),
                )
            token = root.get("continuation")
            if not token:
                return
            query["continuation"] = token

    def changelog(
        self, study_uid: str | None = None, **parameters: str | int
    ) -> list[dict[str, str]]:
        """A study's change log, or one page of the system change log."""
        path = f"/studies/{study_uid}/changelog" if study_uid else "/changelog"
        root = self._xml(path, parameters or None)
        return [
            {str(k): str(v) for k, v in node.attrib.items()}
            for node in root.iter(f"{MINT_NS}change")
        ]

    def pull(self, study_uid: str, directory: Path) -> list[Path]:
        """Write every instance of a study as ``<SOP UID>.dcm`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        metadata = self.metadata(study_uid)
        written: list[Path] = []
        for series in metadata.sorted_series():
            for instance in series.sorted_instances():
                path = directory / f"{instance.sop_instance_uid}.dcm"
                partial = path.with_suffix(".part")
                with partial.open("wb") as out:
                    self.instance(
                        study_uid, series.series_instance_uid, instance.sop_instance_uid, out
                    )
                partial.replace(path)
                written.append(path)
        return written


def read_ri_multipart(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Binary items from the RI's LF multi-item layout: (bid, content)."""
    for content_id, data in read_parts(stream):
        yield int(content_id.split("@", 1)[0]), data


def read_parts(stream: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    """(Content-ID, content) of each part, read the way MINT2DICOM does (by length)."""
    return iter_counted_parts(stream)


class _Counted:
    """A stream that reports how many bytes were read from it."""

    def __init__(self, inner: ReadStream, on_bytes: Callable[[int], None]) -> None:
        self._inner, self._on_bytes = inner, on_bytes

    def read(self, size: int = -1, /) -> bytes | None:
        data = self._inner.read(size)
        if data:
            self._on_bytes(len(data))
        return data

    def close(self) -> None:
        self._inner.close()


def _counted(
    opener: Callable[[], ReadStream], on_bytes: Callable[[int], None] | None
) -> Callable[[], ReadStream]:
    if on_bytes is None:
        return opener
    counter = on_bytes
    return lambda: _Counted(opener(), counter)


def _file_opener(path: Path, on_bytes: Callable[[int], None] | None) -> Callable[[], ReadStream]:
    return _counted(lambda: path.open("rb"), on_bytes)


def _mint_form_body(
    boundary: str, metadata: Study, items: ItemSource, sent: list[int]
) -> Iterator[bytes]:
    """A DICOM2MINT-shaped form: metadata part, then binaryN parts streamed from their openers."""
    document = formats.encode(metadata, "xml")

    def count(size: int) -> None:
        sent[0] += size

    def parts() -> Iterator[OutPart]:
        yield form_part(
            "metadata", "metadata.xml", "text/xml", len(document), lambda: io.BytesIO(document)
        )
        for bid, size, opener in items:
            name = f"binary{bid}"
            yield form_part(
                name, f"{name}.dat", "application/octet-stream", size, _counted(opener, count)
            )

    return iter_multipart(parts(), boundary, crlf=True)


def _copy(source: IO[bytes], out: IO[bytes]) -> int:
    written = 0
    while chunk := source.read(CHUNK):
        out.write(chunk)
        written += len(chunk)
    return written


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection's peer has closed it (or sent what nobody asked for).

    Between requests nothing may arrive, so a readable socket means end of stream.
    """
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _study_results(data: bytes) -> list[StudyResult]:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False))
    return [
        StudyResult(
            node.get("studyUUID", ""),
            int(node.get("version", "-1")),
            node.get("created") == "true",
            node.get("changed") == "true",
        )
        for node in root.iter(f"{MINT_NS}study")
    ]


def parse_time(text: str) -> datetime:
    """Parse the ISO times the server writes."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
