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

:class:`UploadReader` turns the body into a stream of typed parts
(:class:`FormField`, :class:`Part10`, :class:`MetadataDocument`,
:class:`BinaryItem`) that the route loops over: Part-10 parts go to an
ingest session as they arrive; binary parts stay spooled (bounded memory,
then disk) until the reader is closed, after the commit, so memory use does
not grow with the upload.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, BinaryIO, Self, cast

from flask import request
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.http import parse_options_header

from mintstore import formats
from mintstore.errors import InvalidInput, InvalidMetadata
from mintstore.formats.variants import UPLOAD_MEDIA_TYPES, format_of_media_type, format_of_name
from mintstore.model import Study
from mintstore.multipart import SPOOL_IN_MEMORY, Part, boundary_of, iter_parts
from mintstore.multipart.spool import RequestSpool

from .input_limits import InputLimits

_BINARY_NAME = re.compile(r"binary([0-9]{1,9})(?:\.dat)?")
#: ``Content-ID: <7@study>`` (what the whole-study message sends) or ``<binary7>``.
_BINARY_CONTENT_ID = re.compile(r"<?(?:binary)?([0-9]{1,9})(?:@[^>]*)?>?")
_FIELD_LIMIT = 4096
_DICOM_TYPES = frozenset({"application/dicom", "application/dicom+octet-stream"})

#: Metadata documents from clients are decoded within ``limits.documents`` (nodes,
#: set size, time; the size limit is also the server's max_metadata_bytes).
DEFAULT_INPUT_LIMITS = InputLimits()


class SpooledItem:
    """A binary part kept until the upload closes; every ``open`` is a fresh reader.

    The engine closes what it opens and may open an item again (a retried
    commit), so each reader is its own view with its own position, and
    closing it leaves the spooled part in place.
    """

    def __init__(self, body: IO[bytes]) -> None:
        self._body = body

    def open(self) -> BinaryIO:
        return cast(BinaryIO, _ItemReader(self._body))


class _ItemReader(io.RawIOBase):
    """Reads one spooled part from the start, independently of other readers."""

    def __init__(self, body: IO[bytes]) -> None:
        super().__init__()
        self._body = body
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        self._body.seek(self._position)
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


@dataclass(frozen=True)
class FormField:
    """A form field (``studyUUID``, ``oldVersion``)."""

    name: str
    value: str


@dataclass(frozen=True)
class Part10:
    """One Part-10 instance; ``body`` is valid until the next part is asked for."""

    body: BinaryIO


@dataclass(frozen=True)
class MetadataDocument:
    """The upload's one MINT metadata document, decoded."""

    study: Study


@dataclass(frozen=True)
class BinaryItem:
    """Binary item ``bid``, spooled until the upload closes."""

    bid: int
    item: SpooledItem


UploadPart = FormField | Part10 | MetadataDocument | BinaryItem


@dataclass
class Gathered:
    """The MINT parts of an upload that carries no Part-10 (updates)."""

    fields: dict[str, str] = field(default_factory=dict)
    metadata: Study | None = None
    items: dict[int, SpooledItem] = field(default_factory=dict)

    def openers(self) -> dict[int, Callable[[], BinaryIO]]:
        """Binary items as the engine wants them: bid -> a function opening a reader."""
        return {bid: item.open for bid, item in self.items.items()}


class UploadReader:
    """The current request's body as typed parts; closing it releases every spool."""

    def __init__(
        self,
        *,
        accept_part10: bool,
        max_metadata_bytes: int,
        spool_dir: str | None = None,
        limits: InputLimits = DEFAULT_INPUT_LIMITS,
    ) -> None:
        self._accept_part10 = accept_part10
        self._max_metadata_bytes = max_metadata_bytes
        self._spool_dir = spool_dir
        self._limits = limits
        self._opened: list[IO[bytes]] = []
        self._spool: RequestSpool | None = None
        self._bids: set[int] = set()
        self._metadata_seen = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for body in self._opened:
            body.close()
        self._opened.clear()
        if self._spool is not None:
            self._spool.close()

    def parts(self) -> Iterator[UploadPart]:
        """Each part of the body, typed; a part nobody could use is a 4xx here."""
        mimetype, _ = parse_options_header(request.headers.get("Content-Type", ""))
        mimetype = mimetype.lower()
        stream: IO[bytes] = request.stream
        if mimetype in _DICOM_TYPES:
            if not self._accept_part10:
                raise UnsupportedMediaType("this request takes MINT metadata, not DICOM Part-10")
            body = _spool(stream, self._spool_dir)
            self._opened.append(body)
            yield Part10(cast(BinaryIO, body))
            return
        fmt = format_of_media_type(mimetype)
        if fmt is not None:
            yield MetadataDocument(
                _decode_metadata(stream, fmt, self._max_metadata_bytes, self._limits.documents)
            )
            return
        if not mimetype.startswith("multipart/"):
            raise UnsupportedMediaType(
                f"unsupported Content-Type {mimetype or '(none)'!r}: send application/dicom, "
                "multipart/related, multipart/form-data or a MINT metadata document"
            )
        boundary = boundary_of(request.headers["Content-Type"])
        self._spool = RequestSpool(self._spool_dir, self._limits.spool)
        for part in iter_parts(stream, boundary, self._spool_dir, self._spool):
            self._opened.append(part.body)
            yield self._typed(part)

    def gather(self) -> Gathered:
        """Every part of an upload that takes no Part-10 (fields, metadata, items)."""
        gathered = Gathered()
        for part in self.parts():
            if isinstance(part, FormField):
                gathered.fields[part.name] = part.value
            elif isinstance(part, MetadataDocument):
                gathered.metadata = part.study
            elif isinstance(part, BinaryItem):
                gathered.items[part.bid] = part.item
        return gathered

    def _typed(self, part: Part) -> UploadPart:
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
            if bid in self._bids:
                raise InvalidInput(f"binary item {bid} sent twice")
            self._bids.add(bid)
            return BinaryItem(bid, SpooledItem(part.body))
        if filename is None and name is not None and part.content_type in ("", "text/plain"):
            if part.size > _FIELD_LIMIT:
                raise InvalidInput(f"form field {name!r} is too long")
            return FormField(name, part.body.read().decode("utf-8", "replace").strip())
        if _is_part10(part):
            if not self._accept_part10:
                raise InvalidInput("DICOM Part-10 parts are not accepted in this request")
            return Part10(cast(BinaryIO, part.body))
        fmt = _metadata_format(part)
        if fmt is None:
            raise InvalidInput(
                f"cannot tell what part {name or filename or part.content_type!r} is: expected "
                "application/dicom, a metadata document or a binaryN part"
            )
        if self._metadata_seen:
            raise InvalidInput("more than one metadata part in the upload")
        self._metadata_seen = True
        return MetadataDocument(
            _decode_metadata(part.body, fmt, self._max_metadata_bytes, self._limits.documents)
        )


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
        named = format_of_name(candidate)
        if named is not None:
            return named
    labelled = UPLOAD_MEDIA_TYPES.get(part.content_type)
    if (part.name or "").lower() == "metadata" or (part.filename or "").lower() == "metadata":
        return labelled or "xml"
    return labelled


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


def _decode_metadata(
    stream: IO[bytes], fmt: str, limit: int, limits: formats.DocumentLimits
) -> Study:
    data = _read_limited(stream, limit)
    if not data:
        raise InvalidMetadata("empty metadata document")
    return formats.decode(data, fmt, gzip=None, max_size=limit, limits=limits)


def _spool(stream: IO[bytes], spool_dir: str | None) -> IO[bytes]:
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=spool_dir)  # noqa: SIM115 - the reader closes it
    shutil.copyfileobj(stream, body, 1024 * 1024)
    body.seek(0)
    return cast(IO[bytes], body)
