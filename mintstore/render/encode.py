"""8-bit display arrays to image/jpeg or image/png bodies (Pillow)."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mintstore.errors import InvalidInput

MEDIA_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def fit_viewport(size: tuple[int, int], viewport: tuple[int, int]) -> tuple[int, int]:
    """The largest (width, height) with the image's aspect ratio inside ``viewport``."""
    width, height = size
    scale = min(viewport[0] / width, viewport[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_image(
    display: NDArray[np.uint8],
    media_type: str,
    *,
    viewport: tuple[int, int] | None = None,
    quality: int = 90,
) -> bytes:
    """Encode; ``viewport`` scales the picture to fit (aspect ratio kept)."""
    fmt = MEDIA_FORMATS.get(media_type)
    if fmt is None:
        raise InvalidInput(f"cannot render as {media_type}")
    if not 1 <= quality <= 100:
        raise InvalidInput("quality must be between 1 and 100")
    image = Image.fromarray(display)
    if viewport is not None:
        target = fit_viewport(image.size, viewport)
        if target != image.size:
            image = image.resize(target, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=quality)
    else:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()
