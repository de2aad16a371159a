"""The Query/Retrieve Find SCP: Patient Root and Study Root, PATIENT to IMAGE level.

Candidates come from the engine: at PATIENT and STUDY level the search index
narrows the studies (by StudyInstanceUID, PatientID, AccessionNumber,
StudyDate, ModalitiesInStudy, whichever the keys pin down), then every key
is matched (PS3.4 C.2.2.2, :mod:`.matching`) against the normalized MINT
metadata of each candidate. SERIES and IMAGE queries name their study (the
hierarchical model's unique keys of the levels above), so they read only
that study's metadata. Every requested key is returned, with the stored
value or empty; NumberOf...Related..., ModalitiesInStudy and
SOPClassesInStudy are computed from the metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.valuerep import PersonName

from mintstore.errors import MintError
from mintstore.model import Attribute, Attributes, Item, Series, Study
from mintstore.store import SearchQuery, StudyStore

from . import reads
from .matching import Key, QueryKeyError, check_key, matches_all
from .spool import BatchCommitter
from .storage import status

LOG = logging.getLogger("mintstore.dimse.query")

PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_ROOT_LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
STUDY_ROOT_LEVELS = ("STUDY", "SERIES", "IMAGE")

PENDING = 0xFF00
CANCEL = 0xFE00
OUT_OF_RESOURCES = 0xA700
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000

QUERY_RETRIEVE_LEVEL = 0x00080052
SPECIFIC_CHARACTER_SET = 0x00080005
RETRIEVE_AE_TITLE = 0x00080054
PATIENT_ID = 0x00100020
ISSUER_OF_PATIENT_ID = 0x00100021
STUDY_UID = 0x0020000D
SERIES_UID = 0x0020000E
SOP_UID = 0x00080018
SOP_CLASS_UID = 0x00080016
MODALITY = 0x00080060
STUDY_DATE = 0x00080020
ACCESSION_NUMBER = 0x00080050
MODALITIES_IN_STUDY = 0x00080061
SOP_CLASSES_IN_STUDY = 0x00080062
INSTANCE_AVAILABILITY = 0x00080056
PATIENT_STUDIES = 0x00201200
PATIENT_SERIES = 0x00201202
PATIENT_INSTANCES = 0x00201204
STUDY_SERIES = 0x00201206
STUDY_INSTANCES = 0x00201208
SERIES_INSTANCES = 0x00201209

#: The unique key of each level, returned with every match at or below it.
UNIQUE_KEYS = {
    "PATIENT": (PATIENT_ID, "LO"),
    "STUDY": (STUDY_UID, "UI"),
    "SERIES": (SERIES_UID, "UI"),
    "IMAGE": (SOP_UID, "UI"),
}
_SKIPPED_KEYS = {QUERY_RETRIEVE_LEVEL, SPECIFIC_CHARACTER_SET}


class IdentifierError(ValueError):
    """The identifier cannot be a valid query for this model (0xA900)."""


@dataclass(frozen=True)
class Query:
    """A validated C-FIND request."""

    root: str
    level: str
    keys: list[Key]

    def key(self, tag: int) -> Key | None:
        return next((key for key in self.keys if key.tag == tag), None)

    def single(self, tag: int) -> str | None:
        """The key's value if it pins one exact value (no wildcard, list or range)."""
        key = self.key(tag)
        if key is None or key.universal or key.text is None:
            return None
        text = key.text.strip()
        if any(char in text for char in "*?\\") or (key.vr in ("DA", "TM", "DT") and "-" in text):
            return None
        return text

    def uids(self, tag: int) -> list[str] | None:
        """A UI key's list of UIDs (None when universal or absent)."""
        key = self.key(tag)
        if key is None or key.universal or key.text is None:
            return None
        return [uid.strip() for uid in key.text.split("\\") if uid.strip()]


def parse_query(sop_class: str, identifier: Dataset) -> Query:
    """Check the identifier against the information model; raise IdentifierError."""
    root = "PATIENT" if sop_class == PATIENT_ROOT_FIND else "STUDY"
    levels = PATIENT_ROOT_LEVELS if root == "PATIENT" else STUDY_ROOT_LEVELS
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if level not in levels:
        raise IdentifierError(f"QueryRetrieveLevel must be one of {', '.join(levels)}")
    try:
        keys = keys_of(identifier)
        for key in keys:
            check_key(key)
    except QueryKeyError as error:
        raise IdentifierError(str(error)) from error
    query = Query(root, level, keys)
    depth = levels.index(level)
    for above in levels[:depth]:
        tag = UNIQUE_KEYS[above][0]
        if above in ("STUDY", "SERIES") and not query.uids(tag):
            raise IdentifierError(f"a {level} query needs the {above} level's unique key")
    return query


def keys_of(dataset: Dataset) -> list[Key]:
    """The identifier's elements as query keys (raises QueryKeyError)."""
    keys = []
    for tag in sorted(dataset.keys()):
        number = int(tag)
        if number in _SKIPPED_KEYS or number & 0xFFFF == 0 or number >> 16 in (0x0000, 0x0002):
            continue
        try:
            element = dataset[tag]
            vr = element.VR.split(" or ")[0]
            value = element.value
        except Exception as error:  # pydicom decodes lazily: bad bytes surface here
            raise QueryKeyError(f"unreadable key {number:08X}: {error}") from error
        if vr == "SQ":
            items = list(value or ())
            if len(items) > 1:
                raise QueryKeyError(f"sequence key {number:08X} has more than one item")
            nested = tuple(keys_of(items[0])) if items else ()
            keys.append(Key(number, "SQ", None, nested or None))
        else:
            keys.append(Key(number, vr, _query_text(value)))
    return keys


def _query_text(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(part) for part in value)
    return str(value)


# --- candidates -------------------------------------------------------------------------


@dataclass
class Candidate:
    """One entity at the query level: its attributes, computed ones included."""

    attributes: Attributes


def _text_attribute(tag: int, vr: str, values: list[str] | str | int) -> Attribute:
    if isinstance(values, list):
        return Attribute(tag, vr, "\\".join(values) if values else None)
    return Attribute(tag, vr, str(values))


def _instance_attributes(series: Series, sop_uid: str) -> Attributes:
    return {**series.normalized_attributes, **series.instances[sop_uid].attributes}


def _series_values(series: Series, tag: int) -> set[str]:
    found = series.attributes.get(tag) or series.normalized_attributes.get(tag)
    if found is not None and found.val:
        return {found.val}
    values = set()
    for instance in series.instances.values():
        attribute = instance.attributes.get(tag)
        if attribute is not None and attribute.val:
            values.add(attribute.val)
    return values


def study_candidate(study: Study) -> Candidate:
    attributes = dict(study.attributes)
    instances = sum(len(series.instances) for series in study.series.values())
    modalities: set[str] = set()
    classes: set[str] = set()
    for series in study.series.values():
        modalities |= _series_values(series, MODALITY)
        classes |= _series_values(series, SOP_CLASS_UID)
    attributes[STUDY_SERIES] = _text_attribute(STUDY_SERIES, "IS", len(study.series))
    attributes[STUDY_INSTANCES] = _text_attribute(STUDY_INSTANCES, "IS", instances)
    attributes[MODALITIES_IN_STUDY] = _text_attribute(MODALITIES_IN_STUDY, "CS", sorted(modalities))
    attributes[SOP_CLASSES_IN_STUDY] = _text_attribute(SOP_CLASSES_IN_STUDY, "UI", sorted(classes))
    return Candidate(attributes)


def series_candidate(study: Study, series: Series) -> Candidate:
    first = series.sorted_instances()[0] if series.instances else None
    attributes = {
        **(first.attributes if first is not None else {}),
        **series.normalized_attributes,
        **study.attributes,
        **series.attributes,
    }
    attributes[SERIES_INSTANCES] = _text_attribute(SERIES_INSTANCES, "IS", len(series.instances))
    return Candidate(attributes)


def image_candidate(study: Study, series: Series, sop_uid: str) -> Candidate:
    attributes = {
        **study.attributes,
        **series.attributes,
        **_instance_attributes(series, sop_uid),
    }
    return Candidate(attributes)


def patient_candidate(studies: list[Study]) -> Candidate:
    first = studies[0]
    attributes = {tag: a for tag, a in first.attributes.items() if tag >> 16 == 0x0010}
    series = sum(len(study.series) for study in studies)
    instances = sum(len(s.instances) for study in studies for s in study.series.values())
    attributes[PATIENT_STUDIES] = _text_attribute(PATIENT_STUDIES, "IS", len(studies))
    attributes[PATIENT_SERIES] = _text_attribute(PATIENT_SERIES, "IS", series)
    attributes[PATIENT_INSTANCES] = _text_attribute(PATIENT_INSTANCES, "IS", instances)
    return Candidate(attributes)


class TooManyCandidates(Exception):
    """The keys do not narrow the search enough to read every candidate."""


class FindSCP:
    """Handles EVT_C_FIND for both information models."""

    def __init__(
        self, store: StudyStore, committer: BatchCommitter, ae_title: str, max_studies: int
    ) -> None:
        self._store = store
        self._committer = committer
        self._ae_title = ae_title
        self._max_studies = max_studies

    def handle(self, event: Any) -> Iterator[tuple[Any, Dataset | None]]:
        try:
            identifier = event.identifier
            query = parse_query(str(event.request.AffectedSOPClassUID), identifier)
        except IdentifierError as error:
            yield status(IDENTIFIER_DOES_NOT_MATCH, str(error)), None
            return
        except Exception as error:  # the identifier does not decode
            yield status(UNABLE_TO_PROCESS, f"unreadable identifier: {error}"), None
            return
        self._committer.flush()
        try:
            for candidate in self._candidates(query):
                if event.is_cancelled:
                    yield CANCEL, None
                    return
                if matches_all(query.keys, candidate.attributes):
                    yield PENDING, self._response(query, identifier, candidate)
        except TooManyCandidates as error:
            yield status(OUT_OF_RESOURCES, str(error)), None
        except MintError as error:
            LOG.error("C-FIND failed: %s", error)
            yield status(UNABLE_TO_PROCESS, f"store error: {error}"), None

    # --- candidates per level ---------------------------------------------------------

    def _studies(self, query: Query) -> Iterator[Study]:
        uids = query.uids(STUDY_UID)
        if uids is not None:
            candidates: list[str] | Iterator[str] = sorted(set(uids))
        else:
            candidates = reads.matching_study_uids(self._store, self._index_query(query))
        for count, uid in enumerate(candidates, 1):
            if count > self._max_studies:
                raise TooManyCandidates(
                    f"more than {self._max_studies} studies: add PatientID, StudyDate, "
                    "AccessionNumber or StudyInstanceUID"
                )
            study = reads.study_metadata(self._store, uid)
            if study is not None:
                yield study

    def _index_query(self, query: Query) -> SearchQuery:
        low = high = None
        date_key = query.key(STUDY_DATE)
        if date_key is not None and not date_key.universal and date_key.text:
            text = date_key.text.strip()
            if "\\" not in text:
                low_text, dash, high_text = text.partition("-")
                low = low_text.strip() or None
                high = (high_text.strip() or None) if dash else low
        modalities = query.key(MODALITIES_IN_STUDY)
        wanted: tuple[str, ...] = ()
        if modalities is not None and not modalities.universal and modalities.text:
            parts = [part.strip() for part in modalities.text.split("\\")]
            if not any("*" in part or "?" in part for part in parts):
                wanted = tuple(part for part in parts if part)
        return SearchQuery(
            patient_id=query.single(PATIENT_ID),
            accession_number=query.single(ACCESSION_NUMBER),
            modalities_in_study=wanted,
            min_study_date=low if low and len(low) == 8 else None,
            max_study_date=high if high and len(high) == 8 else None,
        )

    def _candidates(self, query: Query) -> Iterator[Candidate]:
        if query.level == "PATIENT":
            yield from self._patients(query)
        elif query.level == "STUDY":
            for study in self._studies(query):
                yield study_candidate(study)
        else:
            wanted_series = query.uids(SERIES_UID)
            for study in self._studies(query):
                for series_uid in sorted(study.series):
                    if wanted_series is not None and series_uid not in wanted_series:
                        continue
                    series = study.series[series_uid]
                    if query.level == "SERIES":
                        yield series_candidate(study, series)
                        continue
                    for sop_uid in sorted(series.instances):
                        yield image_candidate(study, series, sop_uid)

    def _patients(self, query: Query) -> Iterator[Candidate]:
        groups: dict[tuple[str, str], list[Study]] = {}
        for study in self._studies(query):
            patient = study.attributes.get(PATIENT_ID)
            issuer = study.attributes.get(ISSUER_OF_PATIENT_ID)
            key = ((patient.val or "") if patient else "", (issuer.val or "") if issuer else "")
            groups.setdefault(key, []).append(study)
        for key in sorted(groups):
            yield patient_candidate(groups[key])

    # --- responses ----------------------------------------------------------------------

    def _response(self, query: Query, identifier: Dataset, candidate: Candidate) -> Dataset:
        response = Dataset()
        response.QueryRetrieveLevel = query.level
        levels = PATIENT_ROOT_LEVELS if query.root == "PATIENT" else STUDY_ROOT_LEVELS
        returned = {key.tag for key in query.keys}
        for level in levels[: levels.index(query.level) + 1]:
            tag, vr = UNIQUE_KEYS[level]
            if tag not in returned:
                response.add(to_element(Key(tag, vr, None), candidate.attributes.get(tag)))
        for key in query.keys:
            if key.tag == RETRIEVE_AE_TITLE:
                continue
            if key.tag == INSTANCE_AVAILABILITY:
                response.add(DataElement(key.tag, "CS", "ONLINE"))
                continue
            response.add(to_element(key, candidate.attributes.get(key.tag)))
        response.RetrieveAETitle = self._ae_title
        charset = identifier.get("SpecificCharacterSet")
        if _needs_unicode(response):
            response.SpecificCharacterSet = "ISO_IR 192"
        elif charset:
            response.SpecificCharacterSet = charset
        return response


def _needs_unicode(dataset: Dataset) -> bool:
    for element in dataset:
        if element.VR == "SQ":
            if any(_needs_unicode(item) for item in element.value):
                return True
        elif isinstance(element.value, str | PersonName) and not str(element.value).isascii():
            return True
    return False


_INT_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV"})
_FLOAT_VRS = frozenset({"FL", "FD"})
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})


def to_element(key: Key, attribute: Attribute | None) -> DataElement:
    """The response element for one key: the stored value, or empty."""
    vr = attribute.vr if attribute is not None else key.vr
    if vr == "SQ" or key.vr == "SQ":
        items = attribute.items or [] if attribute is not None else []
        return DataElement(key.tag, "SQ", Sequence([_item(key, item) for item in items]))
    if attribute is None:
        return DataElement(key.tag, vr, None)
    if vr in _BINARY_VRS or vr == "AT":
        return DataElement(key.tag, vr, attribute.data if vr != "AT" else None)
    if attribute.val is None:
        return DataElement(key.tag, vr, None)
    parts = attribute.val.split("\\")
    values: list[Any]
    try:
        if vr in _INT_VRS:
            values = [int(part) for part in parts]
        elif vr in _FLOAT_VRS:
            values = [float(part) for part in parts]
        else:
            values = parts
    except ValueError:
        return DataElement(key.tag, vr, None)
    return DataElement(key.tag, vr, values[0] if len(values) == 1 else values)


def _item(key: Key, item: Item) -> Dataset:
    dataset = Dataset()
    wanted = key.items or tuple(
        Key(tag, attribute.vr, None) for tag, attribute in sorted(item.attributes.items())
    )
    for item_key in wanted:
        dataset.add(to_element(item_key, item.attributes.get(item_key.tag)))
    return dataset
