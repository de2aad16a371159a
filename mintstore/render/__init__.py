"""Pixel data to pictures: decode one frame, window it, encode JPEG or PNG.

Pure (imports neither the store nor the web layer): the callers hand in the
frame's bytes and the few attributes that describe them (:class:`PixelSpec`).
Decoding uses pydicom's pixel handlers, which call the pylibjpeg family
(libjpeg, openjpeg, rle) for compressed syntaxes; windowing is numpy;
encoding is Pillow.
"""

from __future__ import annotations

from .encode import encode_image, fit_viewport
from .part10 import middle_frame, spec_of
from .pixels import PixelSpec, decode_frame, native_bytes
from .window import Window, to_display

__all__ = [
    "PixelSpec",
    "Window",
    "decode_frame",
    "encode_image",
    "fit_viewport",
    "middle_frame",
    "native_bytes",
    "render_frame",
    "spec_of",
    "to_display",
]


def render_frame(
    spec: PixelSpec,
    frame: bytes,
    *,
    media_type: str,
    window: Window | None = None,
    viewport: tuple[int, int] | None = None,
    quality: int = 90,
) -> bytes:
    """One frame as an image/jpeg or image/png body."""
    pixels = decode_frame(spec, frame)
    display = to_display(pixels, spec, window)
    return encode_image(display, media_type, viewport=viewport, quality=quality)
