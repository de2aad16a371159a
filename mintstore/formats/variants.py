"""Names, extensions and content types of the metadata variants (MINT-SPEC 3.4).

``metadata`` and ``summary`` are served as ``.xml``, ``.gpb``, ``.json`` and
each of those gzipped; no extension means XML. Uploads are named like
``metadata123.xml`` (the RI's DICOM2MINT), so the stem is ignored.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import NamedTuple

from mintstore.errors import InvalidInput
from mintstore.formats.compression import GZIP_MAGIC

FORMATS = ("xml", "gpb", "json")

_MEDIA_TYPES = {
    "xml": "application/xml",
    "gpb": "application/octet-stream",
    "json": "application/json",
}
GZIP_MEDIA_TYPE = "application/gzip"

#: Media types an uploaded metadata document may be labelled with, and the
#: format each one means (the RI's DICOM2MINT labels GPB as octet-stream).
UPLOAD_MEDIA_TYPES = {
    "text/xml": "xml",
    "application/xml": "xml",
    "application/json": "json",
    "application/x-protobuf": "gpb",
    "application/vnd.google.protobuf": "gpb",
    "application/octet-stream": "gpb",
}


def format_of_media_type(media_type: str) -> str | None:
    """The metadata format an upload's media type names (``+xml`` types are XML)."""
    lowered = media_type.lower()
    if lowered in UPLOAD_MEDIA_TYPES:
        return UPLOAD_MEDIA_TYPES[lowered]
    return "xml" if lowered.endswith("+xml") else None


def format_of_name(name: str) -> str | None:
    """The format a file name's extension names (``metadata123.gpb.gz`` -> ``gpb``)."""
    lowered = name.lower().removesuffix(".gz")
    for fmt in FORMATS:
        if lowered.endswith("." + fmt):
            return fmt
    return None


class Variant(NamedTuple):
    """One serialization: format and whether it is gzipped."""

    fmt: str
    gzip: bool

    @property
    def extension(self) -> str:
        """``".gpb.gz"`` and the like."""
        return f".{self.fmt}" + (".gz" if self.gzip else "")

    @property
    def media_type(self) -> str:
        """The content type of the uncompressed document."""
        return _MEDIA_TYPES[self.fmt]

    @property
    def content_type(self) -> str:
        """The content type to serve this variant with (gzip is a file, not an encoding)."""
        return GZIP_MEDIA_TYPE if self.gzip else self.media_type


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown metadata format {fmt!r} (known: {', '.join(FORMATS)})")
    return fmt


def parse_variant(name: str) -> Variant:
    """``"metadata.gpb.gz"`` -> ``Variant("gpb", True)``; ``"summary"`` -> XML."""
    _, dot, extension = name.partition(".")
    if not dot:
        return Variant("xml", False)
    fmt, _, compression = extension.lower().partition(".")
    if fmt not in FORMATS or compression not in ("", "gz"):
        raise InvalidInput(f"unknown metadata variant {name!r}")
    return Variant(fmt, compression == "gz")


def sniff_variant(data: bytes) -> Variant:
    """Guess the variant of an upload whose name says nothing, from its first bytes.

    XML starts with ``<`` (after a BOM or blanks), JSON with ``{``; anything
    else is taken for GPB, whose decoder then judges it.
    """
    if data.startswith(GZIP_MAGIC):
        try:
            head = gzip.GzipFile(fileobj=io.BytesIO(data)).read(64)
        except (OSError, EOFError, zlib.error):
            head = b""
        return Variant(_sniff_plain(head), True)
    return Variant(_sniff_plain(data[:64]), False)


def _sniff_plain(head: bytes) -> str:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if text.startswith(b"{"):
        return "json"
    return "gpb"
