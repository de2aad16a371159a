"""Every read the DICOMweb front-end makes of the study store, in one place.

A request works on one :class:`Snapshot`: the study's metadata and item
table at one version, so a WADO-RS answer never mixes two versions even if
a STOW-RS commits in between. Only :class:`StudyStore`'s public methods are
used; when the store grows a pinned version handle, this module is the one
to switch.

Decoded metadata of recent versions is kept in a small LRU (a version never
changes once committed), bounded by count so memory does not grow with the
archive.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from mintstore.adapters import ObjectReader
from mintstore.errors import ItemNotFound
from mintstore.model import Attributes, Instance, Series, Study
from mintstore.store import IngestSession, SearchPage, SearchQuery, StudyStore

ItemOpener = Callable[[], ObjectReader]


@dataclass
class Snapshot:
    """One version of one study: metadata plus how to open its binary items."""

    store: StudyStore
    study_uid: str
    version: int
    study: Study
    _items: dict[int, tuple[int, ItemOpener]] | None = field(default=None, repr=False)

    def _table(self) -> dict[int, tuple[int, ItemOpener]]:
        if self._items is None:
            self._items = {
                bid: (size, opener)
                for bid, size, opener in self.store.iter_items(self.study_uid, version=self.version)
            }
        return self._items

    def series(self, series_uid: str) -> Series:
        found = self.study.series.get(series_uid)
        if found is None:
            raise ItemNotFound(f"study {self.study_uid} has no series {series_uid}")
        return found

    def instance(self, series_uid: str, sop_uid: str) -> tuple[Series, Instance]:
        series = self.series(series_uid)
        found = series.instances.get(sop_uid)
        if found is None:
            raise ItemNotFound(f"series {series_uid} has no instance {sop_uid}")
        return series, found

    def item_size(self, bid: int) -> int:
        row = self._table().get(bid)
        if row is None:
            raise ItemNotFound(f"study {self.study_uid} has no bulk data item {bid}")
        return row[0]

    def open_item(self, bid: int) -> ObjectReader:
        row = self._table().get(bid)
        if row is None:
            raise ItemNotFound(f"study {self.study_uid} has no bulk data item {bid}")
        return row[1]()

    def read_item(self, bid: int) -> bytes:
        with self.open_item(bid) as reader:
            return reader.read()

    def read_item_range(self, bid: int, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of one item."""
        if start == 0 and end >= self.item_size(bid):
            return self.read_item(bid)
        return self.store.read_item_range(self.study_uid, bid, start, end)

    def dataset(self, series_uid: str, sop_uid: str) -> Any:
        """The instance rebuilt as a pydicom Dataset (all its binary items read)."""
        self.instance(series_uid, sop_uid)
        converter = self.store.config.converter
        return converter.instance_to_dataset(self.study, series_uid, sop_uid, self.read_item)

    def write_part10(self, dataset: Any, out: BinaryIO) -> None:
        self.store.config.converter.write_part10(dataset, out)


def effective_attributes(study: Study, series: Series, instance: Instance) -> Attributes:
    """Every level overlaid, the instance's own values winning (MINT-SPEC 2.2)."""
    merged: Attributes = {}
    merged.update(study.attributes)
    merged.update(series.attributes)
    merged.update(series.normalized_attributes)
    merged.update(instance.attributes)
    return merged


class StoreReads:
    """The store as DICOMweb sees it, with a small cache of decoded versions."""

    def __init__(self, store: StudyStore, cached_versions: int = 16) -> None:
        self.store = store
        self._cache: OrderedDict[tuple[str, int], Study] = OrderedDict()
        self._limit = cached_versions
        self._lock = threading.Lock()

    def snapshot(self, study_uid: str) -> Snapshot:
        version = self.store.study_info(study_uid).version
        key = (study_uid, version)
        with self._lock:
            study = self._cache.get(key)
            if study is not None:
                self._cache.move_to_end(key)
        if study is None:
            study = self.store.metadata(study_uid, version)
            with self._lock:
                self._cache[key] = study
                while len(self._cache) > self._limit:
                    self._cache.popitem(last=False)
        return Snapshot(self.store, study_uid, version, study)

    def search(self, query: SearchQuery) -> SearchPage:
        return self.store.search(query)

    def iter_study_uids(self, query: SearchQuery, budget: int) -> Iterator[str]:
        """Study UIDs the index finds for ``query``, page by page, at most ``budget``."""
        continuation: str | None = None
        seen = 0
        while seen < budget:
            page = self.store.search(
                SearchQuery(
                    study_instance_uid=query.study_instance_uid,
                    patient_id=query.patient_id,
                    accession_number=query.accession_number,
                    modalities_in_study=query.modalities_in_study,
                    min_study_date=query.min_study_date,
                    max_study_date=query.max_study_date,
                    limit=min(500, budget - seen),
                    continuation=continuation,
                )
            )
            for hit in page.results:
                seen += 1
                yield hit.study_uid
            if page.continuation is None or not page.results:
                return
            continuation = page.continuation

    def begin_ingest(self) -> IngestSession:
        return self.store.begin_ingest()
