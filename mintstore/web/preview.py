"""A PNG of an instance's middle frame, for the browser view's thumbnails and previews.

Rendered by :mod:`mintstore.render`, the renderer DICOMweb's rendered and
thumbnail resources use (decode with pydicom and the pylibjpeg decoders, the
dataset's VOI window or the frame's range, Pillow), so the browser and a
DICOMweb client see the same picture. The store read goes through
:mod:`.browser_queries`.
"""

from __future__ import annotations

from typing import IO

from flask import Blueprint, Response, request

from mintstore.errors import InvalidDicom, InvalidInput, NotSupported
from mintstore.render import middle_frame, render_frame

from . import context
from .browser_queries import open_instance
from .params import optional_int
from .uids import validate_uid

blueprint = Blueprint("preview", __name__)

SIZES = (64, 96, 128, 256, 512, 1024)


def render_png(part10: IO[bytes], size: int) -> bytes:
    """The middle frame of a Part-10 instance as a PNG fitting a ``size`` pixel square.

    InvalidDicom when the instance has no pixel data this can show (none, a
    codestream no installed decoder reads, inconsistent image attributes): a
    stored instance the browser cannot picture is the client's 4xx, not the
    server's 501.
    """
    spec, frame = middle_frame(part10)
    try:
        return render_frame(spec, frame, media_type="image/png", viewport=(size, size))
    except (NotSupported, InvalidInput) as exc:
        raise InvalidDicom(f"cannot show this instance as an image: {exc}"[:300]) from None


@blueprint.get("/browse/preview/<study>/<series>/<sop>.png")
def preview(study: str, series: str, sop: str) -> Response:
    """The PNG (``?size=`` one of :data:`SIZES`, default 128)."""
    for uid in (study, series, sop):
        validate_uid(uid, "UID")
    size = optional_int(request.args.get("size"), "size", default=128)
    if size not in SIZES:
        raise InvalidInput(f"size must be one of {', '.join(map(str, SIZES))}")
    with open_instance(context.store(), study, series, sop) as part10:
        png = render_png(part10, size)
    response = Response(png, mimetype="image/png")
    # An instance never changes under its UID within a version; a day is safe.
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
