"""Rendered and thumbnail resources (PS3.18 10.4.1.1.3, 10.7? thumbnails 8.3.5).

Which frame to show (the study's / series' middle instance, an instance's
first frame, or the frames named), the request's presentation parameters
(``window``, ``viewport``, ``quality``), and the call into the pure
:mod:`mintstore.render` package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotAcceptable

from mintstore.errors import InvalidInput, ItemNotFound
from mintstore.render import Window, render_frame

from .media import MediaRange, type_matches
from .pixels import parse_frame_list, pixel_layout
from .reads import Snapshot
from .wado import effective

RENDERED_TYPES = ("image/jpeg", "image/png")
IGNORED = frozenset({"annotation", "charset", "iccprofile"})


@dataclass
class RenderOptions:
    window: Window | None = None
    viewport: tuple[int, int] | None = None
    quality: int = 90
    warnings: list[str] = field(default_factory=list)


def _numbers(name: str, text: str, count: int) -> list[float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts[:count]]
    except ValueError:
        raise InvalidInput(f"{name} wants {count} numbers, not {text!r}") from None
    if len(values) < count:
        raise InvalidInput(f"{name} wants {count} numbers, not {text!r}")
    return values


def parse_options(args: MultiDict[str, str], thumbnail: bool, thumb_size: int) -> RenderOptions:
    options = RenderOptions()
    for name in args:
        if name.lower() in IGNORED:
            options.warnings.append(f"{name} is not supported and was ignored")
        elif name not in ("window", "viewport", "quality"):
            raise InvalidInput(f"unknown rendering parameter {name!r}")
    if "window" in args:
        text = args["window"]
        center, width = _numbers("window", text, 2)
        parts = text.split(",")
        function = parts[2].strip().upper() if len(parts) > 2 else "LINEAR"
        if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
            raise InvalidInput(f"unknown VOI LUT function {function!r}")
        if width <= 0:
            raise InvalidInput("window width must be positive")
        options.window = Window(center, width, function)
    if "viewport" in args:
        text = args["viewport"]
        width, height = _numbers("viewport", text, 2)
        if not (1 <= width <= 8192 and 1 <= height <= 8192) or width % 1 or height % 1:
            raise InvalidInput("viewport wants two integers from 1 to 8192")
        options.viewport = (int(width), int(height))
        if len(text.split(",")) > 2:
            options.warnings.append("viewport source region is not supported; whole image shown")
    elif thumbnail:
        options.viewport = (thumb_size, thumb_size)
    if "quality" in args:
        try:
            options.quality = int(args["quality"])
        except ValueError:
            raise InvalidInput("quality wants an integer from 1 to 100") from None
        if not 1 <= options.quality <= 100:
            raise InvalidInput("quality wants an integer from 1 to 100")
    return options


def choose_media_type(accept: list[MediaRange]) -> str:
    for entry in accept:
        if entry.multipart:
            continue
        for offered in RENDERED_TYPES:
            if type_matches(entry.type, offered):
                return offered
    raise NotAcceptable("rendered images are image/jpeg or image/png")


def _representative(snapshot: Snapshot, series_uid: str | None) -> tuple[str, str]:
    """The middle instance with pixel data of the series (or of the study's first series)."""
    for series in snapshot.study.sorted_series():
        if series_uid is not None and series.series_instance_uid != series_uid:
            continue
        instances = series.sorted_instances()
        with_pixels = [i for i in instances if 0x7FE00010 in effective(snapshot, series, i)]
        if with_pixels:
            middle = with_pixels[len(with_pixels) // 2]
            return series.series_instance_uid, middle.sop_instance_uid
    raise ItemNotFound("nothing with pixel data to render here")


def render(
    snapshot: Snapshot,
    series_uid: str | None,
    sop_uid: str | None,
    frames: str | None,
    media_type: str,
    options: RenderOptions,
) -> bytes:
    if series_uid is not None:
        snapshot.series(series_uid)
    if sop_uid is None:
        series_uid, sop_uid = _representative(snapshot, series_uid)
    assert series_uid is not None
    series, instance = snapshot.instance(series_uid, sop_uid)
    layout = pixel_layout(effective(snapshot, series, instance), instance.transfer_syntax_uid)
    number = 1
    if frames is not None:
        number = parse_frame_list(frames, layout.frame_count)[0]
    data = snapshot.read_item(layout.bid(number))
    return render_frame(
        layout.spec,
        data,
        media_type=media_type,
        window=options.window,
        viewport=options.viewport,
        quality=options.quality,
    )
