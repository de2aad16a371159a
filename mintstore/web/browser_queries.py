"""Every store read of the browser view, in one module.

A results row (:class:`StudyCard`) comes from the search index alone: its
rows carry the patient's name, the study description and the series and
instance counts (docs/index.md), so neither a search nor a name search reads
any study's metadata. Only a row written before those columns existed (its
``series`` is 0; ``mintstore reindex`` rewrites such rows) falls back to the
study's metadata, summarised once per study version into a card kept in an
LRU cache (a version never changes, so a cached card is never stale).

The index has no lookup by name, so a name search walks the index rows the
other criteria select (with continuation: each page O(page)) and matches
the names itself, at most :data:`SCAN_LIMIT` rows per search, and says when
it stopped there.
"""

from __future__ import annotations

import fnmatch
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import IO

from mintstore.model import Attribute, Attributes, Instance, Series, Study
from mintstore.store import SearchHit, SearchQuery, StudyStore

#: Most index rows one name search looks at (rows, not documents: cheap).
SCAN_LIMIT = 20_000
#: Most study metadata documents one name search reads (rows without names).
DOCUMENT_LIMIT = 2000
_CARDS = 4096

PATIENT_NAME = 0x00100010
PATIENT_ID = 0x00100020
STUDY_DATE = 0x00080020
STUDY_DESCRIPTION = 0x00081030
ACCESSION = 0x00080050
MODALITY = 0x00080060
SERIES_NUMBER = 0x00200011
SERIES_DESCRIPTION = 0x0008103E
INSTANCE_NUMBER = 0x00200013
PIXEL_DATA = 0x7FE00010
NUMBER_OF_FRAMES = 0x00280008


def text(attributes: Attributes, tag: int) -> str:
    attribute = attributes.get(tag)
    return (attribute.val or "") if attribute is not None else ""


def person_name(value: str) -> str:
    """A DICOM PN as people write it: "Family, Given Middle" (first component group)."""
    alphabetic = value.split("=", 1)[0]
    parts = [part.strip() for part in alphabetic.split("^")]
    family = parts[0] if parts else ""
    rest = " ".join(part for part in parts[1:4] if part)
    return f"{family}, {rest}" if family and rest else family or rest


@dataclass(frozen=True)
class StudyCard:
    """What a results row shows of a study."""

    study_uid: str
    version: int
    patient_name: str
    patient_id: str
    study_date: str
    description: str
    accession: str
    modalities: tuple[str, ...]
    series_count: int
    instance_count: int


@dataclass(frozen=True)
class Criteria:
    """What the search form asks for; empty strings are no constraint."""

    patient_name: str = ""
    patient_id: str = ""
    accession: str = ""
    date_from: str = ""  # yyyyMMdd
    date_to: str = ""
    modality: str = ""

    def query(self, limit: int, offset: int) -> SearchQuery:
        return SearchQuery(
            patient_id=self.patient_id or None,
            accession_number=self.accession or None,
            modalities_in_study=(self.modality,) if self.modality else (),
            min_study_date=self.date_from or None,
            max_study_date=self.date_to or None,
            limit=limit,
            offset=offset,
        )


@dataclass
class ResultsPage:
    cards: list[StudyCard]
    has_more: bool
    scanned: int
    stopped_early: bool


def name_matcher(pattern: str) -> re.Pattern[str] | None:
    """Case-insensitive PN matching: ``*``/``?`` wildcards, else "contains"."""
    pattern = pattern.strip()
    if not pattern:
        return None
    if "*" not in pattern and "?" not in pattern:
        pattern = f"*{pattern}*"
    return re.compile(fnmatch.translate(pattern.replace(",", "^").replace(" ", "*")), re.I)


@dataclass
class CardCache:
    """LRU of StudyCards by (study UID, version); thread-safe."""

    size: int = _CARDS
    _cards: OrderedDict[tuple[str, int], StudyCard] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def card(self, store: StudyStore, hit: SearchHit) -> StudyCard:
        from_index = card_from_hit(hit)
        if from_index is not None:
            return from_index
        key = (hit.study_uid, hit.version)
        with self._lock:
            found = self._cards.get(key)
            if found is not None:
                self._cards.move_to_end(key)
                return found
        made = _make_card(store.metadata(hit.study_uid, hit.version), hit)
        with self._lock:
            self._cards[key] = made
            while len(self._cards) > self.size:
                self._cards.popitem(last=False)
        return made


def card_from_hit(hit: SearchHit) -> StudyCard | None:
    """The card of an index row, or None for a row without the study-level columns.

    Every committed study has a series, so ``series == 0`` marks a row
    written before ``series``/``patient_name``/``study_description`` were
    indexed: its card must come from the metadata.
    """
    if hit.series <= 0:
        return None
    return StudyCard(
        study_uid=hit.study_uid,
        version=hit.version,
        patient_name=hit.patient_name or "",
        patient_id=hit.patient_id or "",
        study_date=hit.study_date or "",
        description=hit.study_description or "",
        accession=hit.accession_number or "",
        modalities=tuple(sorted({m for m in hit.modalities if m})),
        series_count=hit.series,
        instance_count=hit.instances,
    )


def _make_card(study: Study, hit: SearchHit) -> StudyCard:
    modalities = sorted(
        {text(series.attributes, MODALITY) for series in study.series.values()} - {""}
    )
    return StudyCard(
        study_uid=hit.study_uid,
        version=hit.version,
        patient_name=text(study.attributes, PATIENT_NAME),
        patient_id=text(study.attributes, PATIENT_ID) or (hit.patient_id or ""),
        study_date=text(study.attributes, STUDY_DATE) or (hit.study_date or ""),
        description=text(study.attributes, STUDY_DESCRIPTION),
        accession=text(study.attributes, ACCESSION) or (hit.accession_number or ""),
        modalities=tuple(modalities) or hit.modalities,
        series_count=len(study.series),
        instance_count=study.instance_count,
    )


def _hits(store: StudyStore, criteria: Criteria, batch: int) -> Iterator[SearchHit]:
    """Every hit of the criteria, in pages followed by continuation (each O(page))."""
    query = criteria.query(batch, 0)
    while True:
        page = store.search(query)
        yield from page.results
        if not page.continuation:
            return
        query = replace(query, continuation=page.continuation)


def find_studies(
    store: StudyStore, cache: CardCache, criteria: Criteria, offset: int, size: int
) -> ResultsPage:
    """One page of matching studies (``size`` cards from ``offset``)."""
    matcher = name_matcher(criteria.patient_name)
    if matcher is None:
        page = store.search(criteria.query(size + 1, offset))
        hits = page.results
        cards = [cache.card(store, hit) for hit in hits[:size]]
        return ResultsPage(cards, len(hits) > size, len(cards), False)
    matched: list[StudyCard] = []
    scanned = documents = 0
    for hit in _hits(store, criteria, 500):
        if scanned >= SCAN_LIMIT or documents >= DOCUMENT_LIMIT:
            return ResultsPage(matched[offset : offset + size], False, scanned, True)
        scanned += 1
        card = card_from_hit(hit)
        if card is None:  # an old row: its name is in the metadata only
            documents += 1
            card = cache.card(store, hit)
        names = (card.patient_name, person_name(card.patient_name))
        if any(matcher.fullmatch(name) for name in names):
            matched.append(card)
            if len(matched) > offset + size:
                return ResultsPage(matched[offset : offset + size], True, scanned, False)
    return ResultsPage(matched[offset : offset + size], False, scanned, False)


def effective(series: Series, instance: Instance) -> Attributes:
    """An instance's attributes with its series' normalized ones underneath."""
    return {**series.normalized_attributes, **instance.attributes}


def _number(attributes: Attributes, tag: int) -> int | None:
    value = text(attributes, tag).split("\\", 1)[0].strip()
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


def series_in_order(study: Study) -> list[Series]:
    """By Series Number (series without one last), then UID."""

    def key(series: Series) -> tuple[int, int, str]:
        number = _number(series.attributes, SERIES_NUMBER)
        return (number is None, number or 0, series.series_instance_uid)

    return sorted(study.series.values(), key=key)


def instances_in_order(series: Series) -> list[Instance]:
    """By Instance Number (instances without one last), then UID."""

    def key(instance: Instance) -> tuple[int, int, str]:
        number = _number(effective(series, instance), INSTANCE_NUMBER)
        return (number is None, number or 0, instance.sop_instance_uid)

    return sorted(series.instances.values(), key=key)


def has_pixels(series: Series, instance: Instance) -> bool:
    attribute: Attribute | None = effective(series, instance).get(PIXEL_DATA)
    return attribute is not None


def series_number(series: Series) -> str:
    number = _number(series.attributes, SERIES_NUMBER)
    return "" if number is None else str(number)


def instance_number(series: Series, instance: Instance) -> str:
    number = _number(effective(series, instance), INSTANCE_NUMBER)
    return "" if number is None else str(number)


def open_instance(store: StudyStore, study_uid: str, series_uid: str, sop_uid: str) -> IO[bytes]:
    """The instance as Part-10, spooled (to disk past 32 MiB), positioned at its start."""
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - caller closes
    try:
        store.instance_part10(study_uid, series_uid, sop_uid, spool)  # type: ignore[arg-type]
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool
