"""Turning an upload request body into what the storage engine ingests.

Accepted bodies (MINT-SPEC 4 and 4.1):

* a single ``application/dicom`` body (one Part-10 instance);
* ``multipart/related`` or ``multipart/form-data`` whose parts are Part-10
  instances (each is handed to the ingest session as soon as it has arrived);
* MINT parts, as the RI's DICOM2MINT sends them: form fields (``studyUUID``,
  ``oldVersion``), one metadata document (``.xml``/``.gpb``/``.json``,
  optionally gzipped; the first file part that is not a binary item), then
  ``binaryN`` parts carrying binary item N;
* the same in ``multipart/related`` with ``Content-ID: <N@study>`` naming
  binary item N, which is exactly what ``GET /studies/{study}`` with
  ``Accept: multipart/related`` sends: a whole-study message can be posted
  to another server as it is.

Binary parts are spooled (memory up to 1 MiB, then disk) until the commit, so
memory use does not grow with the upload.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, BinaryIO, cast

from flask import request
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.http import parse_options_header

from mintstore import formats
from mintstore.errors import InvalidInput, InvalidMetadata
from mintstore.model import Study

from .multipart_in import SPOOL_IN_MEMORY, Part, boundary_of, iter_parts
from .spool import RequestSpool

_BINARY_NAME = re.compile(r"binary([0-9]{1,9})(?:\.dat)?")
#: ``Content-ID: <7@study>`` (what the whole-study message sends) or ``<binary7>``.
_BINARY_CONTENT_ID = re.compile(r"<?(?:binary)?([0-9]{1,9})(?:@[^>]*)?>?")
_FIELD_LIMIT = 4096
_DICOM_TYPES = frozenset({"application/dicom", "application/dicom+octet-stream"})
_METADATA_TYPES = {
    "text/xml": "xml",
    "application/xml": "xml",
    "application/json": "json",
    "application/x-protobuf": "gpb",
    "application/vnd.google.protobuf": "gpb",
    "application/octet-stream": "gpb",
}

Part10Sink = Callable[[BinaryIO], object]

#: Metadata documents from clients are decoded within these bounds (nodes,
#: set size, time; the size limit is the server's max_metadata_bytes).
CLIENT_DOCUMENT_LIMITS = formats.DocumentLimits()


@dataclass
class Upload:
    """What a request carried besides the Part-10 instances already ingested."""

    fields: dict[str, str] = field(default_factory=dict)
    metadata: Study | None = None
    items: dict[int, IO[bytes]] = field(default_factory=dict)
    part10_count: int = 0

    def openers(self) -> dict[int, Callable[[], BinaryIO]]:
        """Binary items as the engine wants them: bid -> a function opening the content."""
        return {bid: _rewinder(body) for bid, body in self.items.items()}


def _rewinder(body: IO[bytes]) -> Callable[[], BinaryIO]:
    def open_item() -> BinaryIO:
        body.seek(0)
        return cast(BinaryIO, _Unclosable(body))

    return open_item


class _Unclosable:
    """A view of a spooled part the engine may 'close' without destroying it.

    The engine closes what it opens; the spool must survive until the
    request ends (an engine retry may open the item again).
    """

    def __init__(self, body: IO[bytes]) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return self._body.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release: the request owns the spool."""

    def __enter__(self) -> _Unclosable:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_upload(
    part10_sink: Part10Sink | None,
    cleanup: ExitStack,
    *,
    max_metadata_bytes: int,
    spool_dir: str | None = None,
) -> Upload:
    """Read the current request's body.

    Part-10 content goes to ``part10_sink`` as it arrives (None: Part-10 is not
    acceptable here, e.g. in a delta update). Spools are registered on
    ``cleanup`` so they live until the caller has committed.
    """
    mimetype, _ = parse_options_header(request.headers.get("Content-Type", ""))
    mimetype = mimetype.lower()
    upload = Upload()
    stream: IO[bytes] = request.stream
    if mimetype in _DICOM_TYPES:
        if part10_sink is None:
            raise UnsupportedMediaType("this request takes MINT metadata, not DICOM Part-10")
        body = cleanup.enter_context(_spool(stream, spool_dir))
        part10_sink(cast(BinaryIO, body))
        upload.part10_count = 1
        return upload
    if mimetype in _METADATA_TYPES or mimetype.endswith("+xml"):
        fmt = _METADATA_TYPES.get(mimetype, "xml")
        upload.metadata = _decode_metadata(stream, fmt, max_metadata_bytes)
        return upload
    if not mimetype.startswith("multipart/"):
        raise UnsupportedMediaType(
            f"unsupported Content-Type {mimetype or '(none)'!r}: send application/dicom, "
            "multipart/related, multipart/form-data or a MINT metadata document"
        )
    boundary = boundary_of(request.headers["Content-Type"])
    spool = RequestSpool(spool_dir)
    cleanup.callback(spool.close)
    for part in iter_parts(stream, boundary, spool_dir, spool):
        cleanup.callback(part.body.close)
        _route_part(part, upload, part10_sink, max_metadata_bytes)
    return upload


def _route_part(
    part: Part, upload: Upload, part10_sink: Part10Sink | None, max_metadata_bytes: int
) -> None:
    name = part.name
    filename = part.filename
    content_id = part.headers.get("Content-ID", "").strip()
    # Explicit names first (binaryN, application/dicom), then a numeric
    # Content-ID, so a STOW client that labels its DICOM parts is never
    # mistaken for a sender of raw binary items.
    binary = _BINARY_NAME.fullmatch(name or "") or _BINARY_NAME.fullmatch(filename or "")
    if binary is None and part.content_type not in _DICOM_TYPES:
        binary = _BINARY_CONTENT_ID.fullmatch(content_id)
    if binary is not None:
        bid = int(binary.group(1))
        if bid in upload.items:
            raise InvalidInput(f"binary item {bid} sent twice")
        upload.items[bid] = part.body
        return
    if filename is None and name is not None and part.content_type in ("", "text/plain"):
        if part.size > _FIELD_LIMIT:
            raise InvalidInput(f"form field {name!r} is too long")
        upload.fields[name] = part.body.read().decode("utf-8", "replace").strip()
        part.body.close()
        return
    if _is_part10(part):
        if part10_sink is None:
            raise InvalidInput("DICOM Part-10 parts are not accepted in this request")
        part10_sink(cast(BinaryIO, part.body))
        upload.part10_count += 1
        part.body.close()
        return
    fmt = _metadata_format(part)
    if fmt is None:
        raise InvalidInput(
            f"cannot tell what part {name or filename or part.content_type!r} is: expected "
            "application/dicom, a metadata document or a binaryN part"
        )
    if upload.metadata is not None:
        raise InvalidInput("more than one metadata part in the upload")
    upload.metadata = _decode_metadata(part.body, fmt, max_metadata_bytes)
    part.body.close()


def _is_part10(part: Part) -> bool:
    if part.content_type in _DICOM_TYPES:
        return True
    if (part.filename or "").lower().endswith(".dcm"):
        return True
    head = part.body.read(132)
    part.body.seek(0)
    return head[128:132] == b"DICM"


def _metadata_format(part: Part) -> str | None:
    for candidate in (part.filename or "", part.name or ""):
        lowered = candidate.lower().removesuffix(".gz")
        for extension in ("xml", "gpb", "json"):
            if lowered.endswith("." + extension):
                return extension
    if (part.name or "").lower() == "metadata" or (part.filename or "").lower() == "metadata":
        return _METADATA_TYPES.get(part.content_type, "xml")
    return _METADATA_TYPES.get(part.content_type)


def _read_limited(stream: IO[bytes], limit: int) -> bytes:
    """The stream's bytes, refusing more than ``limit``.

    Read in 1 MiB pieces: ``read(limit + 1)`` allocates the whole limit
    (256 MiB) up front for every document, however small.
    """
    pieces: list[bytes] = []
    size = 0
    while piece := stream.read(1024 * 1024):
        size += len(piece)
        if size > limit:
            raise InvalidMetadata(f"metadata document larger than {limit} bytes")
        pieces.append(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _decode_metadata(stream: IO[bytes], fmt: str, limit: int) -> Study:
    data = _read_limited(stream, limit)
    if not data:
        raise InvalidMetadata("empty metadata document")
    return formats.decode(data, fmt, gzip=None, max_size=limit, limits=CLIENT_DOCUMENT_LIMITS)


def _spool(stream: IO[bytes], spool_dir: str | None) -> IO[bytes]:
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=spool_dir)  # noqa: SIM115 - the cleanup stack closes it
    shutil.copyfileobj(stream, body, 1024 * 1024)
    body.seek(0)
    return cast(IO[bytes], body)
