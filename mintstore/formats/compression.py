"""gzip for metadata variants: deterministic out, bounded in.

Output carries no timestamp (mtime 0) so the same document always gzips to
the same bytes -- stored documents are addressed by digest. Input is
decompressed with a ceiling, so a small "gzip bomb" cannot exhaust memory.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator

from mintstore.errors import InvalidMetadata

GZIP_MAGIC = b"\x1f\x8b"


def compress(data: bytes) -> bytes:
    return b"".join(compress_chunks([data]))


def compress_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """gzip a stream of chunks (header with mtime 0, so output is reproducible)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def decompress(data: bytes, *, max_size: int) -> bytes:
    """Gunzip ``data``; more than ``max_size`` bytes of output is an error."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as stream:
            out = stream.read(max_size + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise InvalidMetadata(f"not valid gzip data: {error}") from None
    if len(out) > max_size:
        raise InvalidMetadata(f"gzipped document expands beyond the {max_size}-byte limit")
    return out
