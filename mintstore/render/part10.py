"""A whole Part-10 instance to one picture: the browser view's previews.

DICOMweb hands :func:`~mintstore.render.render_frame` a frame it read from the
store by item; the browser has the instance as a Part-10 stream instead. This
module reads that stream with pydicom, takes the frame to show (the middle one)
and the attributes that describe it (:class:`PixelSpec`), and renders through
the same decode / window / encode steps, so a preview and a DICOMweb thumbnail
of an instance are the same picture. Pure: bytes in, image bytes out.
"""

from __future__ import annotations

import warnings
from typing import IO, Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame

from mintstore.errors import InvalidDicom

from .pixels import PixelSpec


def _number(value: Any, default: float | None) -> float | None:
    """A DS/IS value, or the first of a multi-valued one (window center/width)."""
    if value is None:
        return default
    try:
        if not isinstance(value, (str, bytes)) and hasattr(value, "__iter__"):
            value = next(iter(value))
        return float(value)
    except (TypeError, ValueError, StopIteration):
        return default


def spec_of(dataset: Dataset, transfer_syntax: str) -> PixelSpec:
    """The Image Pixel module (and LUT attributes) of a dataset as a PixelSpec."""
    try:
        bits_allocated = int(dataset.get("BitsAllocated", 16))
        return PixelSpec(
            transfer_syntax=transfer_syntax,
            rows=int(dataset.get("Rows", 0)),
            columns=int(dataset.get("Columns", 0)),
            samples_per_pixel=int(dataset.get("SamplesPerPixel", 1)),
            bits_allocated=bits_allocated,
            bits_stored=int(dataset.get("BitsStored", bits_allocated)),
            pixel_representation=int(dataset.get("PixelRepresentation", 0)),
            photometric=str(dataset.get("PhotometricInterpretation", "MONOCHROME2")),
            planar_configuration=int(dataset.get("PlanarConfiguration", 0)),
            rescale_slope=_number(dataset.get("RescaleSlope"), 1.0) or 1.0,
            rescale_intercept=_number(dataset.get("RescaleIntercept"), 0.0) or 0.0,
            window_center=_number(dataset.get("WindowCenter"), None),
            window_width=_number(dataset.get("WindowWidth"), None),
            voi_function=str(dataset.get("VOILUTFunction", "LINEAR") or "LINEAR"),
        )
    except (TypeError, ValueError) as exc:
        raise InvalidDicom(f"the image attributes are not usable: {exc}"[:300]) from None


def middle_frame(part10: IO[bytes]) -> tuple[PixelSpec, bytes]:
    """The spec and bytes of the instance's middle frame (its only one, usually)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dataset = dcmread(part10, force=True)
        except Exception as exc:  # pydicom's many ways of refusing a damaged file
            raise InvalidDicom(f"cannot read this instance: {exc}"[:300]) from None
        if "PixelData" not in dataset:
            raise InvalidDicom("this instance has no pixel data to show")
        meta = getattr(dataset, "file_meta", None)
        syntax = str(getattr(meta, "TransferSyntaxUID", "") or "1.2.840.10008.1.2")
        spec = spec_of(dataset, syntax)
        frames = max(1, int(_number(dataset.get("NumberOfFrames"), 1) or 1))
        index = frames // 2
        data = dataset.PixelData
    if spec.encapsulated:
        try:
            return spec, get_frame(data, index, number_of_frames=frames)
        except Exception as exc:  # a broken offset table or fragment sequence
            raise InvalidDicom(f"cannot find frame {index + 1}: {exc}"[:300]) from None
    size = spec.rows * spec.columns * spec.samples_per_pixel * spec.bits_allocated // 8
    return spec, bytes(data[index * size : (index + 1) * size])
