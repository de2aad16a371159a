"""From stored pixel values to 8-bit display values (PS3.3 C.11).

Grayscale: the Modality LUT (rescale slope/intercept), then the VOI window
(center/width from the dataset or the request; LINEAR, LINEAR_EXACT or
SIGMOID), then MONOCHROME1 inverted so that white is bright on screen.
Without any window the frame's own range is used. Colour data (already RGB)
is only scaled to 8 bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .pixels import PixelSpec


@dataclass(frozen=True)
class Window:
    """A VOI window: center, width and the VOI LUT function."""

    center: float
    width: float
    function: str = "LINEAR"


def _window_of(spec: PixelSpec, override: Window | None) -> Window | None:
    if override is not None:
        return override
    if spec.window_center is not None and spec.window_width is not None:
        return Window(spec.window_center, spec.window_width, spec.voi_function)
    return None


def _linear(values: NDArray[np.float64], window: Window) -> NDArray[np.float64]:
    center, width = window.center, window.width
    if window.function.upper() == "LINEAR_EXACT":
        width = max(width, 1e-6)
        return np.clip((values - center) / width + 0.5, 0.0, 1.0) * 255.0
    if window.function.upper() == "SIGMOID":
        width = max(width, 1e-6)
        return 255.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    width = max(width, 1.0)
    if width == 1.0:
        return np.where(values < center - 0.5, 0.0, 255.0)
    scaled = ((values - (center - 0.5)) / (width - 1.0) + 0.5) * 255.0
    return np.clip(scaled, 0.0, 255.0)


def to_display(
    pixels: NDArray[np.generic], spec: PixelSpec, window: Window | None = None
) -> NDArray[np.uint8]:
    """8-bit display values: (rows, columns) gray or (rows, columns, 3) RGB."""
    if pixels.ndim == 3:
        values = pixels.astype(np.float64)
        top = float(2**spec.bits_stored - 1) if spec.bits_stored > 8 else 255.0
        return np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
    values = pixels.astype(np.float64) * spec.rescale_slope + spec.rescale_intercept
    chosen = _window_of(spec, window)
    if chosen is None:
        low, high = float(values.min()), float(values.max())
        span = high - low
        scaled = (values - low) * (255.0 / span) if span > 0 else np.zeros_like(values)
    else:
        scaled = _linear(values, chosen)
    if spec.photometric == "MONOCHROME1":
        scaled = 255.0 - scaled
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
