"""Where an instance's pixel data lives and what it means, from its metadata.

MINT keeps each frame as its own binary item (``bid + n``), so a frame is
one object read; :func:`pixel_layout` finds the PixelData attribute and the
attributes the renderer needs without reading any binary item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mintstore.errors import InvalidInput, ItemNotFound
from mintstore.model import PIXEL_DATA_TAG, Attribute, Attributes
from mintstore.render import PixelSpec

from .media import EXPLICIT_LE


@dataclass(frozen=True)
class PixelLayout:
    """The frames of one instance: first binary item, how many, their syntax."""

    first_bid: int
    frame_count: int
    syntax: str
    spec: PixelSpec

    def bid(self, frame_number: int) -> int:
        """The binary item of 1-based ``frame_number``."""
        return self.first_bid + frame_number - 1


def _text(attributes: Attributes, tag: int) -> str | None:
    attribute = attributes.get(tag)
    return attribute.val if attribute is not None and attribute.val else None


def _number(attributes: Attributes, tag: int, default: float) -> float:
    text = _text(attributes, tag)
    if text is None:
        return default
    try:
        return float(text.split("\\")[0])
    except ValueError:
        return default


def _int(attributes: Attributes, tag: int, default: int) -> int:
    return int(_number(attributes, tag, default))


def pixel_layout(attributes: Attributes, syntax: str | None) -> PixelLayout:
    """The instance's frames (404 when it has no pixel data)."""
    pixel: Attribute | None = attributes.get(PIXEL_DATA_TAG)
    if pixel is None or pixel.bid is None:
        raise ItemNotFound("the instance has no pixel data")
    window_center = _text(attributes, 0x00281050)
    window_width = _text(attributes, 0x00281051)
    stored = syntax or EXPLICIT_LE
    spec = PixelSpec(
        transfer_syntax=stored,
        rows=_int(attributes, 0x00280010, 0),
        columns=_int(attributes, 0x00280011, 0),
        samples_per_pixel=_int(attributes, 0x00280002, 1),
        bits_allocated=_int(attributes, 0x00280100, 16),
        bits_stored=_int(attributes, 0x00280101, _int(attributes, 0x00280100, 16)),
        pixel_representation=_int(attributes, 0x00280103, 0),
        photometric=(_text(attributes, 0x00280004) or "MONOCHROME2").strip(),
        planar_configuration=_int(attributes, 0x00280006, 0),
        rescale_slope=_number(attributes, 0x00281053, 1.0),
        rescale_intercept=_number(attributes, 0x00281052, 0.0),
        window_center=float(window_center.split("\\")[0]) if window_center else None,
        window_width=float(window_width.split("\\")[0]) if window_width else None,
        voi_function=(_text(attributes, 0x00281056) or "LINEAR").strip(),
    )
    return PixelLayout(pixel.bid, pixel.frame_count(), stored, spec)


_FRAME_LIST = re.compile(r"[0-9]+(,[0-9]+)*\Z")


def parse_frame_list(text: str, frame_count: int) -> list[int]:
    """``"1,3,5"`` as frame numbers (400 if malformed, 404 if out of range)."""
    if not _FRAME_LIST.match(text):
        raise InvalidInput(f"bad frame list {text!r}: want comma-separated numbers from 1")
    numbers = [int(part) for part in text.split(",")]
    if len(numbers) > 10000:
        raise InvalidInput("too many frames in one request")
    for number in numbers:
        if number < 1:
            raise InvalidInput("frame numbers start at 1")
        if number > frame_count:
            raise ItemNotFound(f"frame {number} does not exist (the instance has {frame_count})")
    return numbers
