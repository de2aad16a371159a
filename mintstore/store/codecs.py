"""The real collaborators behind the engine's two seams (see config.py).

The metadata codec is gzipped GPB from ``mintstore.formats`` (compact and
exact: it round-trips every field of the model); the converter is
``mintstore.convert``. Both are imported lazily so importing the engine
stays cheap.
"""

from __future__ import annotations

from mintstore.model import Study

from .config import Converter, MetadataCodec


class GpbCodec:
    """Metadata documents as gzipped GPB (the RI's ``metadata.gpb.gz``)."""

    name = "gpb.gz"

    def encode(self, study: Study) -> bytes:
        from mintstore import formats

        return formats.encode(study, "gpb", gzip=True)

    def decode(self, data: bytes) -> Study:
        from mintstore import formats

        return formats.decode(data, "gpb", gzip=True)


def default_codec() -> MetadataCodec:
    return GpbCodec()


def default_converter() -> Converter:
    from .conversion import DicomConverter

    return DicomConverter()
