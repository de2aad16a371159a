"""Every read the DICOMweb front-end makes of the study store, in one place.

A request works on one :class:`Snapshot`: one pinned
:class:`~mintstore.store.StudyVersion` (``StudyStore.open_version``), so a
WADO-RS answer never mixes two versions even if a STOW-RS commits in
between. Only :class:`StudyStore`'s public methods are used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from mintstore.adapters import ObjectReader
from mintstore.errors import ItemNotFound
from mintstore.model import Attributes, Instance, Series, Study
from mintstore.store import IngestSession, SearchPage, SearchQuery, StudyStore, StudyVersion


@dataclass
class Snapshot:
    """One version of one study: metadata plus its binary items."""

    store: StudyStore
    handle: StudyVersion
    study: Study

    @property
    def study_uid(self) -> str:
        return self.handle.study_uid

    @property
    def version(self) -> int:
        return self.handle.version

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
        return self.handle.item_size(bid)

    def open_item(self, bid: int) -> ObjectReader:
        return self.handle.open_item(bid)

    def read_item(self, bid: int) -> bytes:
        return self.handle.read_item(bid)

    def read_item_range(self, bid: int, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of one item."""
        return self.handle.read_item_range(bid, start, end)

    def dataset(
        self, series_uid: str, sop_uid: str, read_item: Callable[[int], bytes] | None = None
    ) -> Any:
        """The instance rebuilt as a pydicom Dataset (all its binary items read,
        by ``read_item`` when given: a Part-10 template is built with stand-ins)."""
        self.instance(series_uid, sop_uid)
        converter = self.store.config.converter
        reader = self.read_item if read_item is None else read_item
        return converter.instance_to_dataset(self.study, series_uid, sop_uid, reader)

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
    """The store as DICOMweb sees it."""

    def __init__(self, store: StudyStore) -> None:
        self.store = store

    def snapshot(self, study_uid: str) -> Snapshot:
        handle = self.store.open_version(study_uid)
        return Snapshot(self.store, handle, handle.metadata())

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
