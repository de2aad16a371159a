"""Every read the DIMSE gateway makes of the store, in one module.

Only :class:`StudyStore`'s public methods are used. A study read for a
retrieve is pinned to one version (``StudyStore.open_version``): its
metadata and its items come from that same version, so a commit landing
meanwhile cannot mix two versions in one C-MOVE.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mintstore.errors import ItemNotFound, StudyGone, StudyNotFound
from mintstore.model import Study
from mintstore.store import SearchQuery, StudyStore, StudyVersion

#: Page size when walking search results (the index's own pages).
_PAGE = 1000


def matching_study_uids(store: StudyStore, query: SearchQuery) -> Iterator[str]:
    """Every live study the index says can match ``query``, page after page."""
    continuation: str | None = None
    while True:
        page = store.search(
            SearchQuery(
                study_instance_uid=query.study_instance_uid,
                patient_id=query.patient_id,
                accession_number=query.accession_number,
                modalities_in_study=query.modalities_in_study,
                min_study_date=query.min_study_date,
                max_study_date=query.max_study_date,
                limit=_PAGE,
                continuation=continuation,
            )
        )
        for hit in page.results:
            yield hit.study_uid
        if page.continuation is None or not page.results:
            return
        continuation = page.continuation


def study_metadata(store: StudyStore, study_uid: str) -> Study | None:
    """The current metadata of a study, or None if it is absent or deleted."""
    try:
        return store.metadata(study_uid)
    except (StudyNotFound, StudyGone):
        return None


def stored_sop_uids(store: StudyStore, study_uid: str) -> set[str]:
    """SOP Instance UIDs the study holds now (empty if there is no such study)."""
    study = study_metadata(store, study_uid)
    if study is None:
        return set()
    return {sop for series in study.series.values() for sop in series.instances}


@dataclass
class PinnedStudy:
    """One version of one study (``StudyStore.open_version``) and its metadata."""

    store: StudyStore
    pinned: StudyVersion
    study: Study

    @classmethod
    def open(cls, store: StudyStore, study_uid: str) -> PinnedStudy | None:
        try:
            pinned = store.open_version(study_uid)
            return cls(store, pinned, pinned.metadata())
        except (StudyNotFound, StudyGone, ItemNotFound):
            return None

    @property
    def version(self) -> int:
        return self.pinned.version

    def dataset(self, series_uid: str, sop_uid: str) -> Any:
        """The instance rebuilt as a pydicom Dataset (with its file meta), as stored."""
        converter = self.store.config.converter
        return converter.instance_to_dataset(self.study, series_uid, sop_uid, self.pinned.read_item)


class InstanceLocator:
    """SOP Instance UID -> Study Instance UID, for storage commitment.

    The index has no SOP Instance UIDs, so the study of an instance is found
    from the instances this process received (a bounded map), or else among
    the studies changed within ``lookback`` (the system change log): a
    commitment request for freshly stored instances always finds them there.
    """

    def __init__(self, store: StudyStore, lookback: timedelta, limit: int = 200_000) -> None:
        self._store = store
        self._lookback = lookback
        self._limit = limit
        self._known: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, sop_uid: str, study_uid: str) -> None:
        with self._lock:
            self._known[sop_uid] = study_uid
            self._known.move_to_end(sop_uid)
            while len(self._known) > self._limit:
                self._known.popitem(last=False)

    def known(self, sop_uid: str) -> str | None:
        with self._lock:
            return self._known.get(sop_uid)

    def recent_studies(self) -> list[str]:
        """Studies changed within the look-back window, newest first."""
        since = datetime.now(UTC) - self._lookback
        seen: dict[str, None] = {}
        continuation: str | None = None
        while True:
            page = self._store.system_changes(since=since, continuation=continuation, limit=1000)
            for change in page.changes:
                seen[change.study_uid] = None
            if not page.changes or page.continuation == continuation:
                break
            continuation = page.continuation
        return list(reversed(seen))
