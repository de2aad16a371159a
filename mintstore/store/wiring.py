"""The default wiring of the engine's ports: gzipped GPB documents, ``mintstore.convert``.

The metadata codec is gzipped GPB from ``mintstore.formats`` (compact and
exact: it round-trips every field of the model); the converter is
``mintstore.convert``. Both are imported on first use so importing the
engine stays cheap. Depends on the ports only, never on the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from mintstore.file_range import ItemContent
from mintstore.model import Attributes, Study

from .ports import Converter, MetadataCodec, StudyBuilderLike

if TYPE_CHECKING:
    from mintstore.convert.structure import Part10Limits


class GpbCodec:
    """Metadata documents as gzipped GPB (the RI's ``metadata.gpb.gz``)."""

    name = "gpb.gz"

    def encode(self, study: Study) -> bytes:
        from mintstore import formats

        return formats.encode(study, "gpb", gzip=True)

    def decode(self, data: bytes) -> Study:
        from mintstore import formats

        return formats.decode(data, "gpb", gzip=True)


class _Builder:
    """``mintstore.convert.StudyBuilder`` seen through the engine's StudyBuilderLike."""

    def __init__(self, existing: Study | None, next_bid: int) -> None:
        from mintstore.convert import StudyBuilder

        self._builder = StudyBuilder(existing=existing, next_bid=next_bid, adopt=True)

    def add_dataset(self, dataset: Any) -> list[tuple[int, ItemContent]]:
        return self._builder.add_dataset(dataset)

    def add_mint_instance(
        self,
        attributes: Attributes,
        transfer_syntax_uid: str | None,
        preamble: bytes | None,
        items: list[tuple[int, bytes]],
    ) -> None:
        from mintstore.convert.extract import Extracted

        # The instance keeps its own transfer syntax, None included.
        syntax = cast(str, transfer_syntax_uid)
        extracted = Extracted(attributes, list[tuple[int, ItemContent]](items), syntax, preamble)
        self._builder.add_extracted(extracted)

    @property
    def study(self) -> Study:
        return self._builder.study

    @property
    def next_bid(self) -> int:
        return self._builder.next_bid


class DicomConverter:
    """Part-10 <-> Study through ``mintstore.convert`` (imported on first use).

    ``part10_limits`` bound what reading one instance may cost (the
    configuration's ``[limits]``; None: the converter's defaults).
    """

    def __init__(self, part10_limits: Part10Limits | None = None) -> None:
        self.part10_limits = part10_limits

    def read_part10(self, stream: BinaryIO) -> Any:
        from mintstore.convert import read_part10

        if self.part10_limits is None:
            return read_part10(stream)
        return read_part10(stream, self.part10_limits)

    def new_builder(self, existing: Study | None, next_bid: int) -> StudyBuilderLike:
        builder: StudyBuilderLike = _Builder(existing, next_bid)
        return builder

    def instance_to_dataset(
        self, study: Study, series_uid: str, sop_uid: str, read_item: Callable[[int], bytes]
    ) -> Any:
        from mintstore.convert import instance_to_dataset

        return instance_to_dataset(study, series_uid, sop_uid, read_item)

    def write_part10(self, dataset: Any, out: BinaryIO) -> None:
        from mintstore.convert import write_part10

        write_part10(dataset, out)

    def part10_writer(
        self, study: Study, read_item: Callable[[int], bytes]
    ) -> Callable[[str, str, BinaryIO], None]:
        from mintstore.convert.study_files import part10_writer

        return part10_writer(study, read_item)

    def check_values(self, study: Study) -> None:
        from mintstore.convert.checking import check_rebuildable

        check_rebuildable(study)


def default_codec() -> MetadataCodec:
    return GpbCodec()


def default_converter() -> Converter:
    return DicomConverter()
