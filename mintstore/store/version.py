"""``StudyVersion``: one committed version of a study, pinned for a whole request.

A request resolves "which version" once (``StudyStore.open_version``) and
reads everything through the handle: size, ETag, items, metadata, ranges,
multi-item streams and Part-10 instances all come from that one version,
however long the response streams and whatever is committed meanwhile.
Everything a version is made of is immutable, so the handle needs no lock and
its decoded documents are shared (read-only) through digest-keyed caches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import BinaryIO, TypeVar

from mintstore.adapters import ObjectReader
from mintstore.errors import ItemNotFound, NotFound, StudyGone
from mintstore.model import Study

from .engine import Engine
from .records import CommitRecord, ItemTable
from .types import StudyInfo

ItemOpener = Callable[[], ObjectReader]
T = TypeVar("T")


def version_etag(version: int) -> str:
    """The strong ETag naming a study version (If-Match sends it back to guard an update)."""
    return f'"{version}"'


class StudyVersion:
    """Reads of one committed version; cheap to create, safe to share between threads."""

    def __init__(self, engine: Engine, record: CommitRecord, *, pinned: bool) -> None:
        self._engine = engine
        self._record = record
        self._table: ItemTable | None = None
        #: True when the caller asked for this exact version (``?version=N``):
        #: its representation can never change, so it may be cached forever.
        self.pinned = pinned

    @property
    def study_uid(self) -> str:
        return self._record.study_uid

    @property
    def version(self) -> int:
        return self._record.version

    @property
    def time(self) -> datetime:
        """When this version was committed."""
        return self._record.time

    @property
    def type(self) -> str:
        return self._record.type

    @property
    def etag(self) -> str:
        """Strong: a version number names one immutable content forever."""
        return version_etag(self._record.version)

    def info(self) -> StudyInfo:
        return StudyInfo(self.study_uid, self.version, self.time, [self.type])

    # --- metadata ------------------------------------------------------------------

    def metadata(self) -> Study:
        """The decoded metadata document. Shared and cached: do not modify it."""
        return self._guard(lambda: self._engine.shared_study(self._record))

    @property
    def metadata_digest(self) -> str:
        """The digest of the stored metadata blob (names this content everywhere)."""
        digest = self._record.metadata
        if digest is None:  # pragma: no cover - open_version never pins a deletion
            raise StudyGone(f"study {self.study_uid} was deleted")
        return digest

    # --- binary items ----------------------------------------------------------------

    def _items(self) -> ItemTable:
        if self._table is None:
            self._table = self._guard(lambda: self._engine.item_table(self._record))
        return self._table

    def _row(self, bid: int) -> tuple[str, int]:
        row = self._items().get(bid)
        if row is None:
            raise ItemNotFound(f"study {self.study_uid} has no binary item {bid}")
        return row

    def item_ids(self) -> list[int]:
        return sorted(self._items())

    def item_size(self, bid: int) -> int:
        return self._row(bid)[1]

    def item_digest(self, bid: int) -> str:
        """The SHA-256 of an item's bytes (a strong validator for it, in any version)."""
        return self._row(bid)[0]

    def open_item(self, bid: int) -> ObjectReader:
        """Stream one item; its digest is checked as the last byte is read."""
        digest, size = self._row(bid)
        return self._guard(lambda: self._engine.blobs.open(digest, size))

    def read_item(self, bid: int) -> bytes:
        digest, size = self._row(bid)
        return self._guard(lambda: self._engine.blobs.read(digest, size))

    def read_item_range(self, bid: int, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of an item (slice semantics; a whole read is verified)."""
        digest, size = self._row(bid)
        if start <= 0 and end >= size:
            return self._guard(lambda: self._engine.blobs.read(digest, size))
        return self._guard(lambda: self._engine.blobs.read_range(digest, start, end))

    def iter_items(self, bids: list[int] | None = None) -> Iterator[tuple[int, int, ItemOpener]]:
        """(bid, size, opener) for each item, every bid checked before the first is yielded."""
        table = self._items()
        wanted = sorted(table) if bids is None else bids
        chosen: list[tuple[int, int, ItemOpener]] = []
        for bid in wanted:
            row = table.get(bid)
            if row is None:
                raise ItemNotFound(f"study {self.study_uid} has no binary item {bid}")
            chosen.append((bid, row[1], self._opener(*row)))
        return iter(chosen)

    def cheaply_checked_items(self) -> set[int]:
        """The items whose reads check a checksum remembered from an earlier
        SHA-256-checked read in this process (~15 GB/s instead of ~1.7 GB/s).

        Reading one of these on a helper thread costs more in hand-overs than
        the check saves; the others are worth reading ahead (SHA-256 releases
        the GIL, so it runs on the second core while this one sends).
        """
        remembers = self._engine.blobs.remembers
        return {bid for bid, (digest, _) in self._items().items() if remembers(digest)}

    def _opener(self, digest: str, size: int) -> ItemOpener:
        return lambda: self._guard(lambda: self._engine.blobs.open(digest, size))

    # --- instances -------------------------------------------------------------------

    def instances(self) -> list[tuple[str, str]]:
        """(series UID, SOP UID) of every instance, in wire order."""
        return [
            (series.series_instance_uid, instance.sop_instance_uid)
            for series in self.metadata().sorted_series()
            for instance in series.sorted_instances()
        ]

    def instance_part10(self, series_uid: str, sop_uid: str, out: BinaryIO) -> None:
        """Rebuild one instance of this version as a Part-10 file into ``out``."""
        study = self.metadata()
        series = study.series.get(series_uid)
        if series is None or sop_uid not in series.instances:
            raise ItemNotFound(f"study {self.study_uid} has no instance {series_uid}/{sop_uid}")
        converter = self._engine.config.converter
        dataset = converter.instance_to_dataset(study, series_uid, sop_uid, self.read_item)
        converter.write_part10(dataset, out)

    def instance_files(self) -> Callable[[str, str, BinaryIO], None]:
        """``write(series_uid, sop_uid, out)`` for many instances of this version.

        Each instance comes out as :meth:`instance_part10` writes it; the
        elements its instances share are encoded once (a ZIP of 2,000
        instances costs about what their binary items cost to read).
        """
        study = self.metadata()
        write = self._engine.config.converter.part10_writer(study, self.read_item)

        def write_instance(series_uid: str, sop_uid: str, out: BinaryIO) -> None:
            series = study.series.get(series_uid)
            if series is None or sop_uid not in series.instances:
                raise ItemNotFound(f"study {self.study_uid} has no instance {series_uid}/{sop_uid}")
            write(series_uid, sop_uid, out)

        return write_instance

    # --- failures ----------------------------------------------------------------------

    def _guard(self, read: Callable[[], T]) -> T:
        """A blob of a pinned version can only vanish if gc took a deleted study's content."""
        try:
            return read()
        except NotFound:
            raise StudyGone(
                f"version {self.version} of study {self.study_uid} is no longer stored"
            ) from None
