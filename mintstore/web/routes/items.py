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

from mintstore.errors import ItemNotFound
from mintstore.store import StudyStore

from .. import context
from ..multipart_out import (
    OutPart,
    iter_multipart,
    multipart_length,
    new_boundary,
    related_content_type,
    ri_content_type,
)
from ..negotiate import accepts
from ..prefetch import prefetched
from ..selection import parse_selection, single_bid
from ..uids import validate_uid
from .documents import _check_type

blueprint = Blueprint("items", __name__)


class _RangedItem(io.RawIOBase):
    """A seekable read-only view of one item that fetches only the bytes asked for.

    werkzeug's range support seeks to the start of the range and reads the
    requested length; backed by the store's ranged reads, a ``Range`` request
    for the last kilobyte of a large item transfers a kilobyte.
    """

    def __init__(self, store: StudyStore, study: str, bid: int, size: int) -> None:
        super().__init__()
        self._store, self._study, self._bid, self._size = store, study, bid, size
        self._position = 0

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
        data = self._store.read_item_range(self._study, self._bid, self._position, end)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


@blueprint.get("/studies/<study>/<type_name>/binaryitems/<selection>")
def binary_items(study: str, type_name: str, selection: str) -> BaseResponse:
    """One item (ranged, conditional) or a multi-item stream."""
    validate_uid(study, "study UID")
    _check_type(type_name)
    store = context.store()
    bid = single_bid(selection)
    if bid is not None:
        return _single_item(store, study, bid)
    bids = parse_selection(selection)
    parts = _parts(store, study, bids)
    boundary = new_boundary()
    crlf = accepts("multipart/related")
    if crlf:
        content_type = related_content_type(boundary, "application/octet-stream")
    else:
        content_type = ri_content_type(boundary)
    body = iter_multipart(prefetched(parts), boundary, crlf=crlf)
    response = Response(stream_with_context(body), content_type=content_type)
    response.content_length = multipart_length(parts, boundary, crlf=crlf)
    return response


def _single_item(store: StudyStore, study: str, bid: int) -> BaseResponse:
    size = store.item_size(study, bid)
    info = store.study_info(study)
    if request.range is not None:
        stream: io.RawIOBase = _RangedItem(store, study, bid, size)
    else:
        stream = store.open_item(study, bid)
    response = Response(
        wrap_file(request.environ, cast(IO[bytes], stream)),
        mimetype="application/octet-stream",
        direct_passthrough=True,
    )
    response.content_length = size
    # Items never change once written (new content gets new bids), but a
    # deleted and re-created study may reuse a bid: the version's time is in
    # the tag so such a reuse cannot be mistaken for the old content.
    response.set_etag(f"{study}-{bid}-{int(info.last_update.timestamp() * 1000)}")
    return response.make_conditional(request, accept_ranges=True, complete_length=size)


def _parts(store: StudyStore, study: str, bids: list[int] | None) -> list[OutPart]:
    """Resolve the selection up front (404 before streaming), open lazily."""
    if bids is not None:
        for bid in bids:
            store.item_size(study, bid)  # raises ItemNotFound
    selected: list[OutPart] = []
    for bid, size, opener in store.iter_items(study, bids):
        selected.append(OutPart("application/octet-stream", f"{bid}@{study}", size, opener))
    if bids is not None and len(selected) != len(bids):
        raise ItemNotFound("some requested binary items do not exist")
    return selected
