"""MINT metadata wire formats: XML (RI 1.1), GPB (RI field numbers) and JSON
(DICOM JSON model attribute maps), each optionally gzipped.

Every decoder turns any malformed or hostile input into
:class:`mintstore.errors.InvalidMetadata` and checks the resulting model
with the same rules (:mod:`mintstore.formats.checks`), so the three formats
accept exactly the same studies and update deltas. Encoders are
deterministic: the same model always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mintstore.errors import InvalidMetadata
from mintstore.formats.checks import check_study
from mintstore.formats.compression import GZIP_MAGIC, compress_chunks, decompress
from mintstore.formats.gpb import decode_gpb, encode_gpb
from mintstore.formats.json_reader import decode_json
from mintstore.formats.json_writer import iter_json
from mintstore.formats.limits import DEFAULT_MAX_DOCUMENT_SIZE, Budget, DocumentLimits
from mintstore.formats.variants import (
    FORMATS,
    GZIP_MEDIA_TYPE,
    Variant,
    check_format,
    parse_variant,
    sniff_variant,
)
from mintstore.formats.xml_reader import decode_xml
from mintstore.formats.xml_writer import iter_xml
from mintstore.model import Study

__all__ = [
    "DEFAULT_MAX_DOCUMENT_SIZE",
    "FORMATS",
    "GZIP_MEDIA_TYPE",
    "DocumentLimits",
    "Variant",
    "decode",
    "encode",
    "encode_summary",
    "iter_encode",
    "parse_variant",
    "sniff_variant",
]

_TEXT_WRITERS: dict[str, Callable[..., Iterator[str]]] = {"xml": iter_xml, "json": iter_json}


def iter_encode(
    study: Study, fmt: str, *, gzip: bool = False, summary: bool = False
) -> Iterator[bytes]:
    """The document in chunks, for streaming a big study's metadata out.

    XML and JSON are produced piece by piece; GPB is one message and comes as
    one chunk. Joined, the chunks equal :func:`encode` (or
    :func:`encode_summary`) exactly.
    """
    check_format(fmt)
    if fmt == "gpb":
        chunks: Iterator[bytes] = iter([encode_gpb(study, summary=summary)])
    else:
        check_study(study)  # now, not halfway through a streamed response
        chunks = (text.encode("utf-8") for text in _TEXT_WRITERS[fmt](study, summary=summary))
    return compress_chunks(chunks) if gzip else chunks


def encode(study: Study, fmt: str, *, gzip: bool = False) -> bytes:
    """Serialize a whole study (or an update delta) in ``fmt``."""
    return b"".join(iter_encode(study, fmt, gzip=gzip))


def encode_summary(study: Study, fmt: str, *, gzip: bool = False) -> bytes:
    """The summary document: study and series attributes and instance counts, no instances."""
    return b"".join(iter_encode(study, fmt, gzip=gzip, summary=True))


def decode(
    data: bytes | bytearray | memoryview,
    fmt: str,
    *,
    gzip: bool | None = None,
    max_size: int = DEFAULT_MAX_DOCUMENT_SIZE,
    limits: DocumentLimits | None = None,
) -> Study:
    """Parse a document of format ``fmt``; ``gzip=None`` detects compression.

    ``max_size`` bounds the (uncompressed) document; XML input may also be
    in the RI's pre-1.0 dialect. ``limits`` (for documents from clients)
    also bound what decoding may build and how long it may take; its
    ``max_size`` then applies too.
    """
    check_format(fmt)
    budget = Budget(limits)
    if limits is not None:
        max_size = min(max_size, limits.max_size)
    if not isinstance(data, bytes):
        data = bytes(data)  # request bodies may arrive as bytearray or memoryview
    if gzip is None:
        gzip = data.startswith(GZIP_MAGIC)
    if gzip:
        data = decompress(data, max_size=max_size)
    elif len(data) > max_size:
        raise InvalidMetadata(f"document of {len(data)} bytes exceeds the {max_size} limit")
    if fmt == "xml":
        return decode_xml(data, max_size=max_size, budget=budget)
    if fmt == "gpb":
        return decode_gpb(data, budget)
    return decode_json(data, budget)
