"""A PNG of an instance's middle frame, for the browser view's thumbnails and previews.

Interim: the DICOMweb work brings a shared renderer (``mintstore/render/``, with
``/dicom-web/.../thumbnail``). Until then this one module does it with
pydicom + numpy + Pillow, so switching is a change here and in the template's
image URLs only. :func:`render_png` is pure (bytes in, PNG out); the route
around it does the store read through :mod:`.browser_queries`.

Only the middle frame is decoded (pydicom's ``index``), grey images are
windowed with the dataset's first VOI window when it has one (else min-max),
colour images are converted to RGB by pydicom.
"""

from __future__ import annotations

import io
import warnings
from typing import IO, Any

from flask import Blueprint, Response, request

from mintstore.errors import InvalidDicom, InvalidInput

from . import context
from .browser_queries import open_instance
from .params import optional_int
from .uids import validate_uid

blueprint = Blueprint("preview", __name__)

SIZES = (64, 96, 128, 256, 512, 1024)


def render_png(part10: IO[bytes], size: int) -> bytes:
    """The middle frame of a Part-10 instance as a PNG no larger than ``size`` pixels.

    InvalidDicom when the instance has no pixel data this can show (none, a
    codestream no installed decoder reads, inconsistent image attributes).
    """
    try:
        return _render(part10, size)
    except InvalidDicom:
        raise
    except Exception as exc:  # whatever a stored dataset's oddities make pydicom or Pillow say
        raise InvalidDicom(f"cannot show this instance as an image: {exc}"[:300]) from None


def _frame_count(value: Any) -> int:
    try:
        return max(1, int(str(value).strip() or 1))
    except ValueError:
        return 1


def _render(part10: IO[bytes], size: int) -> bytes:
    from PIL import Image
    from pydicom import dcmread
    from pydicom.pixels import pixel_array  # type: ignore[attr-defined]
    from pydicom.uid import ImplicitVRLittleEndian

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(part10, force=True)
        if "PixelData" not in dataset:
            raise InvalidDicom("this instance has no pixel data to show")
        if not getattr(dataset.file_meta, "TransferSyntaxUID", None):
            dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian  # DICOM's default
        frames = _frame_count(dataset.get("NumberOfFrames", 1))
        try:
            pixels = pixel_array(dataset, index=frames // 2 if frames > 1 else None)
        except Exception as exc:  # a decoder that is missing or a codestream it refuses
            raise InvalidDicom(f"cannot decode the pixel data: {exc}"[:300]) from None
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2"))
    if (
        pixels.ndim == 3
        and pixels.shape[-1] in (3, 4)
        and int(dataset.get("SamplesPerPixel", 1)) > 1
    ):
        image = Image.fromarray(_to_8bit_colour(pixels), "RGB")
    else:
        while pixels.ndim > 2:  # frames or planes we do not show: the first
            pixels = pixels[0] if pixels.shape[0] > 1 or pixels.ndim > 3 else pixels[..., 0]
        grey = _window(pixels, dataset)
        if photometric == "MONOCHROME1":
            grey = 255 - grey
        image = Image.fromarray(grey, "L")
    scale = size / max(image.size)
    if scale != 1:  # fit the box, up (small images) or down
        width, height = (max(1, round(side * scale)) for side in image.size)
        method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
        image = image.resize((width, height), method)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def _to_8bit_colour(pixels: Any) -> Any:
    import numpy

    array = numpy.asarray(pixels)[..., :3]
    if array.dtype != numpy.uint8:
        top = float(array.max()) or 1.0
        array = (array.astype(numpy.float64) * (255.0 / top)).clip(0, 255).astype(numpy.uint8)
    return array


def _window(values: Any, header: Any) -> Any:
    import numpy

    data = numpy.asarray(values, dtype=numpy.float64)
    slope = float(getattr(header, "RescaleSlope", 1) or 1)
    intercept = float(getattr(header, "RescaleIntercept", 0) or 0)
    data = data * slope + intercept
    center = _first(getattr(header, "WindowCenter", None))
    width = _first(getattr(header, "WindowWidth", None))
    if center is not None and width is not None and width > 1:
        low, high = center - width / 2, center + width / 2
    else:
        low, high = float(data.min()), float(data.max())
    if high <= low:
        high = low + 1
    scaled = (data - low) * (255.0 / (high - low))
    return scaled.clip(0, 255).astype(numpy.uint8)


def _first(value: object) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            value = next(iter(value))  # type: ignore[call-overload]
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return None


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
