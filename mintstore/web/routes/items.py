"""Binary items: ``/studies/{study}/{type}/binaryitems/{sel}[.dat]``.

One item is ``application/octet-stream`` with a Content-Length (MINT2DICOM
loses the value of chunked responses), ETag and Range through werkzeug's
``make_conditional``. Several items are one stream: the RI's LF layout by
default, RFC 2046 ``multipart/related`` (CRLF) when the client asks for it.
Every requested bid is checked before the first byte is sent, so a missing
item is a clean 404, never a truncated stream.
"""

from __future__ import annotations

import io
from typing import IO, cast

from flask import Blueprint, Response, request, stream_with_context
from werkzeug.wrappers import Response as BaseResponse
from werkzeug.wsgi import wrap_file

from mintstore.multipart import (
    OutPart,
    iter_multipart,
    multipart_length,
    new_boundary,
    related_content_type,
    ri_content_type,
)
from mintstore.store import StudyVersion

from ..negotiate import accepts
from ..pinning import open_version, set_validators
from ..prefetch import cheap_content_ids, prefetched
from ..selection import parse_selection, single_bid
from ..study_types import check_type

blueprint = Blueprint("items", __name__)


class _RangedItem(io.RawIOBase):
    """A seekable read-only view of one item that fetches only the bytes asked for.

    werkzeug's range support seeks to the start of the range and reads the
    requested length in small blocks; the first read fetches the whole
    requested range (``planned``) with one ranged GET, so a ``Range`` request
    for the last kilobyte of a large item transfers a kilobyte, in one request.
    """

    def __init__(self, version: StudyVersion, bid: int, size: int, planned_end: int) -> None:
        super().__init__()
        self._version, self._bid, self._size = version, bid, size
        self._planned_end = min(size, planned_end)
        self._position = 0
        self._buffer = b""
        self._buffer_start = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        end = min(self._size, self._position + len(buffer))
        if end <= self._position:
            return 0
        offset = self._position - self._buffer_start
        if not 0 <= offset < len(self._buffer):
            fetch_end = max(end, self._planned_end)
            self._buffer = self._version.read_item_range(self._bid, self._position, fetch_end)
            self._buffer_start, offset = self._position, 0
        data = self._buffer[offset : offset + (end - self._position)]
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


@blueprint.get("/studies/<study>/<type_name>/binaryitems/<selection>")
def binary_items(study: str, type_name: str, selection: str) -> BaseResponse:
    """One item (ranged, conditional) or a multi-item stream."""
    check_type(type_name)
    bid = single_bid(selection)
    bids = None if bid is not None else parse_selection(selection)
    version = open_version(study)
    if bid is not None:
        return _single_item(version, bid)
    parts = _parts(version, bids)
    boundary = new_boundary()
    crlf = accepts("multipart/related")
    if crlf:
        content_type = related_content_type(boundary, "application/octet-stream")
    else:
        content_type = ri_content_type(boundary)
    body = iter_multipart(prefetched(parts, cheap_content_ids(version)), boundary, crlf=crlf)
    response = Response(stream_with_context(body), content_type=content_type)
    response.content_length = multipart_length(parts, boundary, crlf=crlf)
    set_validators(response, version)
    return response


def _single_item(version: StudyVersion, bid: int) -> BaseResponse:
    size = version.item_size(bid)
    ranges = request.range
    if ranges is not None:
        planned = ranges.range_for_length(size) if len(ranges.ranges) == 1 else None
        planned_end = planned[1] if planned is not None else 0
        stream: io.RawIOBase = _RangedItem(version, bid, size, planned_end)
    else:
        stream = version.open_item(bid)
    response = Response(
        wrap_file(request.environ, cast(IO[bytes], stream)),
        mimetype="application/octet-stream",
        direct_passthrough=True,
    )
    response.content_length = size
    # An item's bytes are named by their digest: the strongest validator
    # there is, equal in every version that holds the item.
    set_validators(response, version, f'"{version.item_digest(bid)}"')
    return response.make_conditional(request, accept_ranges=True, complete_length=size)


def _parts(version: StudyVersion, bids: list[int] | None) -> list[OutPart]:
    """Resolve the selection up front (404 before streaming), open lazily."""
    study = version.study_uid
    return [
        OutPart("application/octet-stream", f"{bid}@{study}", size, opener)
        for bid, size, opener in version.iter_items(bids)
    ]
