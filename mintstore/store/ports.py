"""The ports of the storage engine: what it needs from its collaborators.

The engine depends on a metadata codec (how a Study becomes bytes in a
blob) and on a DICOM converter (Part-10 <-> Study) only through these
Protocols; :mod:`.wiring` provides the default implementations and
:class:`~mintstore.store.config.StoreConfig` carries the chosen ones, so the
engine can be tested and benchmarked on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO, Protocol

from mintstore.file_range import ItemContent
from mintstore.model import Attributes, Study


class MetadataCodec(Protocol):
    """Turns a whole Study (or a delta) into the bytes stored in a blob and back."""

    #: Short name recorded in every commit record ("gpb.gz"), so a reader
    #: knows how to decode the documents a commit references.
    name: str

    def encode(self, study: Study) -> bytes: ...

    def decode(self, data: bytes) -> Study: ...


class StudyBuilderLike(Protocol):
    """What the engine needs from ``mintstore.convert.StudyBuilder``."""

    def add_dataset(self, dataset: Any) -> list[tuple[int, ItemContent]]:
        """Add one instance; raises DuplicateInstance if its SOP UID is already there."""
        ...

    def add_mint_instance(
        self,
        attributes: Attributes,
        transfer_syntax_uid: str | None,
        preamble: bytes | None,
        items: list[tuple[int, bytes]],
    ) -> None:
        """Add an instance already in MINT form (every level's attributes merged, bids
        numbered from ``next_bid``; ``items`` pairs each bid with a token for its content,
        handed back by DuplicateInstance). No DICOM conversion, no item read."""
        ...

    @property
    def study(self) -> Study: ...

    @property
    def next_bid(self) -> int: ...


class Converter(Protocol):
    """What the engine needs from ``mintstore.convert`` (Part-10 <-> Study)."""

    def read_part10(self, stream: BinaryIO) -> Any:
        """Parse one Part-10 instance eagerly (InvalidDicom on anything malformed)."""
        ...

    def new_builder(self, existing: Study | None, next_bid: int) -> StudyBuilderLike:
        """A builder continuing ``existing``, which it takes over (and modifies)."""
        ...

    def instance_to_dataset(
        self, study: Study, series_uid: str, sop_uid: str, read_item: Callable[[int], bytes]
    ) -> Any: ...

    def write_part10(self, dataset: Any, out: BinaryIO) -> None: ...

    def part10_writer(
        self, study: Study, read_item: Callable[[int], bytes]
    ) -> Callable[[str, str, BinaryIO], None]:
        """``write(series_uid, sop_uid, out)``: many instances of ``study`` as Part-10
        files, the same bytes as instance_to_dataset + write_part10, work shared."""
        ...

    def check_values(self, study: Study) -> None:
        """Raise InvalidInput unless every value of an uploaded study encodes as DICOM."""
        ...
