"""Media types of DICOMweb: the Accept header, transfer syntaxes and their media types.

PS3.18 8.7: each transfer syntax of pixel data has a media type of its own
(``image/jpeg``, ``image/jls``, ``image/jp2``...), native pixel data travels
as ``application/octet-stream``, and a ``multipart/related`` Accept names
the media type of the parts in ``type`` and the wanted syntax in
``transfer-syntax`` (``*``: as stored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from werkzeug.exceptions import NotAcceptable

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
NATIVE_SYNTAXES = frozenset({IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE})

#: Stored transfer syntax -> media type of its frames (PS3.18 Table 8.7.3-2).
FRAME_MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
    "1.2.840.10008.1.2.4.100": "video/mpeg",
    "1.2.840.10008.1.2.4.101": "video/mpeg",
    "1.2.840.10008.1.2.4.102": "video/mp4",
    "1.2.840.10008.1.2.4.103": "video/mp4",
    "1.2.840.10008.1.2.4.104": "video/mp4",
    "1.2.840.10008.1.2.4.105": "video/mp4",
    "1.2.840.10008.1.2.4.106": "video/mp4",
}
#: Older names clients still send for the same media.
ALIASES = {"image/x-dicom-rle": "image/dicom-rle", "image/x-jls": "image/jls"}

OCTET = "application/octet-stream"
DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"


def frame_media_type(syntax: str) -> str:
    """The media type a frame stored in ``syntax`` is sent as."""
    return FRAME_MEDIA_TYPES.get(syntax, OCTET)


@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header."""

    type: str
    params: dict[str, str] = field(default_factory=dict)
    quality: float = 1.0

    @property
    def multipart(self) -> bool:
        return self.type == "multipart/related"

    @property
    def part_type(self) -> str:
        """The media type of the parts (``type=``), or the type itself for a single part."""
        if self.multipart:
            value = self.params.get("type", "")
            return ALIASES.get(value.lower(), value.lower())
        return ALIASES.get(self.type, self.type)

    @property
    def transfer_syntax(self) -> str | None:
        return self.params.get("transfer-syntax")


_SPLIT = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*\Z)')
_PARAM_SPLIT = re.compile(r';(?=(?:[^"]*"[^"]*")*[^"]*\Z)')


def parse_accept(header: str | None) -> list[MediaRange]:
    """The Accept header's entries, best first; ``*/*`` when there is none."""
    if not header or not header.strip():
        return [MediaRange("*/*")]
    ranges: list[MediaRange] = []
    for entry in _SPLIT.split(header):
        pieces = [piece.strip() for piece in _PARAM_SPLIT.split(entry)]
        if not pieces[0]:
            continue
        params: dict[str, str] = {}
        quality = 1.0
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    raise NotAcceptable(f"bad quality value in Accept: {value!r}") from None
            elif name:
                params[name] = value
        if "/" not in pieces[0]:
            raise NotAcceptable(f"Accept entry {pieces[0]!r} is not a media type")
        ranges.append(MediaRange(pieces[0].lower(), params, quality))
    ranges.sort(key=lambda r: -r.quality)
    return [r for r in ranges if r.quality > 0]


def type_matches(wanted: str, offered: str) -> bool:
    """Does an Accept media type (with ``*`` wildcards) cover ``offered``?"""
    if wanted in ("*/*", "*", ""):
        return True
    main, _, sub = wanted.partition("/")
    offered_main, _, offered_sub = offered.partition("/")
    return main == offered_main and sub in ("*", offered_sub)
