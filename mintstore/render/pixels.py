"""Decoding one frame of pixel data into a numpy array.

The frame is wrapped in a one-frame pydicom Dataset (encapsulated again when
the syntax is compressed) so that pydicom's pixel handlers, and through them
pylibjpeg-libjpeg / -openjpeg / -rle, do the decoding: no codec is written
here. Colour data comes back as RGB (pydicom converts YBR), which is also
what a client asking for decoded native frames wants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID

from mintstore.errors import InvalidInput, NotSupported

NATIVE = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}
)


@dataclass(frozen=True)
class PixelSpec:
    """What a frame's bytes mean (Image Pixel module plus the LUT attributes)."""

    transfer_syntax: str
    rows: int
    columns: int
    samples_per_pixel: int = 1
    bits_allocated: int = 16
    bits_stored: int = 16
    pixel_representation: int = 0
    photometric: str = "MONOCHROME2"
    planar_configuration: int = 0
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    window_center: float | None = None
    window_width: float | None = None
    voi_function: str = "LINEAR"

    @property
    def encapsulated(self) -> bool:
        return self.transfer_syntax not in NATIVE


def _dataset(spec: PixelSpec, frame: bytes) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(spec.transfer_syntax)
    ds.Rows = spec.rows
    ds.Columns = spec.columns
    ds.SamplesPerPixel = spec.samples_per_pixel
    ds.BitsAllocated = spec.bits_allocated
    ds.BitsStored = spec.bits_stored
    ds.HighBit = spec.bits_stored - 1
    ds.PixelRepresentation = spec.pixel_representation
    ds.PhotometricInterpretation = spec.photometric
    if spec.samples_per_pixel > 1:
        ds.PlanarConfiguration = spec.planar_configuration
    ds.NumberOfFrames = 1
    ds.PixelData = encapsulate([frame]) if spec.encapsulated else frame
    ds["PixelData"].VR = "OB" if spec.encapsulated or spec.bits_allocated <= 8 else "OW"
    return ds


def decode_frame(spec: PixelSpec, frame: bytes) -> NDArray[np.generic]:
    """The frame's pixel values: (rows, columns) or (rows, columns, samples)."""
    if spec.rows < 1 or spec.columns < 1:
        raise InvalidInput("the instance has no image geometry (Rows/Columns)")
    if not spec.encapsulated:
        expected = spec.rows * spec.columns * spec.samples_per_pixel * spec.bits_allocated // 8
        if spec.bits_allocated % 8 or len(frame) < expected:
            raise NotSupported("bit-packed or short native frames cannot be rendered")
        frame = frame[:expected]
    ds = _dataset(spec, frame)
    try:
        pixels: NDArray[np.generic] = ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        raise NotSupported(f"no decoder for transfer syntax {spec.transfer_syntax}: {exc}") from exc
    except Exception as exc:  # a decoder's own error types for corrupt data
        raise NotSupported(f"the frame could not be decoded: {exc}") from exc
    return pixels


def native_bytes(spec: PixelSpec, frame: bytes) -> bytes:
    """A compressed frame decoded to Explicit VR Little Endian native bytes
    (colour by pixel, planar configuration 0)."""
    pixels = decode_frame(spec, frame)
    little = pixels.astype(pixels.dtype.newbyteorder("<"), copy=False)
    return bytes(np.ascontiguousarray(little).tobytes())
