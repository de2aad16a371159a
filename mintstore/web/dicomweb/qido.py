"""QIDO-RS (PS3.18 10.6): parsing a search, finding and describing matches.

Searches inside one study read its normalized metadata; searches across
studies page through the study index (``StudyStore.search``) with whatever
the index can filter on, then check every condition on each candidate
study's metadata, reading at most ``max_scanned_studies`` of them.

A *record* is one study, series or instance as a lookup from tag to MINT
attribute: computed attributes first (counts, ModalitiesInStudy,
RetrieveURL), then the levels of the study from the most specific, then
(for attributes stored lower down, such as PatientName placed per
instance) the first instance below it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pydicom.datadict import dictionary_VR, tag_for_keyword
from werkzeug.datastructures import MultiDict

from mintstore.errors import InvalidInput, StudyGone, StudyNotFound
from mintstore.model import Attribute, Attributes, Instance, Series, Study
from mintstore.store import SearchQuery

from . import dicom_json
from .matching import Condition
from .reads import StoreReads, effective_attributes

STUDY, SERIES, INSTANCE = "study", "series", "instance"

MODALITIES_IN_STUDY = 0x00080061
MODALITY = 0x00080060
RETRIEVE_URL = 0x00081190
STUDY_UID, SERIES_UID, SOP_UID = 0x0020000D, 0x0020000E, 0x00080018
STUDY_SERIES_COUNT, STUDY_INSTANCE_COUNT, SERIES_INSTANCE_COUNT = 0x00201206, 0x00201208, 0x00201209
SOP_CLASSES_IN_STUDY = 0x00080062

#: Default return keys, PS3.18 Table 10.6.3-3 (study), -4 (series), -5 (instance).
DEFAULT_KEYS: dict[str, tuple[int, ...]] = {
    STUDY: (
        0x00080005, 0x00080020, 0x00080030, 0x00080050, 0x00080056, MODALITIES_IN_STUDY,
        0x00080090, 0x00080201, RETRIEVE_URL, 0x00100010, 0x00100020, 0x00100030, 0x00100040,
        STUDY_UID, 0x00200010, STUDY_SERIES_COUNT, STUDY_INSTANCE_COUNT, 0x00081030,
    ),
    SERIES: (
        0x00080005, MODALITY, 0x00080201, 0x0008103E, RETRIEVE_URL, SERIES_UID, 0x00200011,
        SERIES_INSTANCE_COUNT, 0x00400244, 0x00400245, 0x00400275,
    ),
    INSTANCE: (
        0x00080005, 0x00080016, SOP_UID, 0x00080056, 0x00080201, RETRIEVE_URL, 0x00200013,
        0x00280010, 0x00280011, 0x00280100, 0x00280008,
    ),
}  # fmt: skip

#: Keys every answer of a level carries so a client can address what it found.
IDENTIFYING = {
    STUDY: (STUDY_UID,),
    SERIES: (STUDY_UID, SERIES_UID),
    INSTANCE: (STUDY_UID, SERIES_UID, SOP_UID),
}

COMPUTED_VRS = {
    MODALITIES_IN_STUDY: "CS",
    SOP_CLASSES_IN_STUDY: "UI",
    RETRIEVE_URL: "UR",
    STUDY_SERIES_COUNT: "IS",
    STUDY_INSTANCE_COUNT: "IS",
    SERIES_INSTANCE_COUNT: "IS",
}

#: Query parameters a standard client may send that this server does not act
#: on: answered with a Warning header instead of a 400.
IGNORED_OPTIONS = frozenset({"orderby", "charset", "accept", "_", "format"})
_HEX_TAG = re.compile(r"[0-9A-Fa-f]{8}\Z")


def resolve_key(name: str) -> int:
    """A keyword or an 8-hex-digit tag as a tag; InvalidInput if it is neither."""
    if _HEX_TAG.match(name):
        return int(name, 16)
    tag = tag_for_keyword(name)
    if tag is None:
        raise InvalidInput(f"unknown attribute {name!r} (use a DICOM keyword or 8 hex digits)")
    return int(tag)


def vr_of(tag: int) -> str:
    if tag in COMPUTED_VRS:
        return COMPUTED_VRS[tag]
    try:
        vr = str(dictionary_VR(tag))
    except KeyError:
        return "UN"
    return vr.split(" or ")[0]


@dataclass
class Search:
    """A parsed QIDO-RS request."""

    level: str
    conditions: list[Condition] = field(default_factory=list)
    include_all: bool = False
    include: set[int] = field(default_factory=set)
    limit: int | None = None
    offset: int = 0
    warnings: list[str] = field(default_factory=list)

    def return_keys(self) -> set[int]:
        keys = set(DEFAULT_KEYS[self.level]) | self.include | set(IDENTIFYING[self.level])
        keys.update(condition.tag for condition in self.conditions)
        return keys


def _int_param(args: MultiDict[str, str], name: str) -> int | None:
    text = args.get(name)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, not {text!r}") from None
    if value < 0:
        raise InvalidInput(f"{name} must not be negative")
    return value


def parse_search(level: str, args: MultiDict[str, str]) -> Search:
    """The search a query string asks for (400 for an unknown attribute)."""
    search = Search(level)
    fuzzy = args.get("fuzzymatching", "false").lower() == "true"
    search.limit = _int_param(args, "limit")
    search.offset = _int_param(args, "offset") or 0
    for name, value in args.items(multi=True):
        lower = name.lower()
        if lower in ("limit", "offset"):
            continue
        if lower == "fuzzymatching":
            if value.lower() not in ("true", "false"):
                raise InvalidInput(f"fuzzymatching must be true or false, not {value!r}")
            continue
        if lower == "includefield":
            for field_name in filter(None, (part.strip() for part in value.split(","))):
                if field_name.lower() == "all":
                    search.include_all = True
                elif "." in field_name:
                    search.warnings.append(f"includefield {field_name}: nested fields not returned")
                else:
                    search.include.add(resolve_key(field_name))
            continue
        if lower in IGNORED_OPTIONS:
            search.warnings.append(f"parameter {name} is not supported and was ignored")
            continue
        if "." in name:
            for part in name.split("."):
                resolve_key(part)
            search.warnings.append(f"sequence matching ({name}) is not supported; ignored")
            continue
        tag = resolve_key(name)
        vr = vr_of(tag)
        if vr == "SQ" or vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
            search.warnings.append(f"matching on {name} (VR {vr}) is not supported; ignored")
            continue
        if tag == MODALITIES_IN_STUDY:
            value = value.replace(",", "\\")  # a list of modalities, either separator
        search.conditions.append(Condition(tag, vr, value, fuzzy))
    return search


# --- records -------------------------------------------------------------------------


def _text(tag: int, value: str) -> Attribute:
    return Attribute(tag=tag, vr=COMPUTED_VRS.get(tag, "UN"), val=value or None)


class Record:
    """One study, series or instance, looked up tag by tag.

    ``below`` are the attribute sets of instances under it (the first
    instance of each series), consulted in order for a tag stored at
    instance level, such as an attribute the type dictionary does not place.
    """

    def __init__(self, layers: list[Attributes], below: Callable[[], list[Attributes]]) -> None:
        self.computed: Attributes = {}
        self._layers = layers
        self._below = below
        self._below_cache: list[Attributes] | None = None

    def get(self, tag: int) -> Attribute | None:
        if tag in self.computed:
            return self.computed[tag]
        for layer in self._layers:
            if tag in layer:
                return layer[tag]
        if self._below_cache is None:
            self._below_cache = self._below()
        for attributes in self._below_cache:
            if tag in attributes:
                return attributes[tag]
        return None

    def own_tags(self) -> set[int]:
        tags = set(self.computed)
        for layer in self._layers:
            tags.update(layer)
        return tags

    def matches(self, conditions: list[Condition]) -> bool:
        for condition in conditions:
            found = self.get(condition.tag)
            if not condition.matches(found.val if found is not None else None):
                return False
        return True


def _first_instances(study: Study, series: Series | None) -> Callable[[], list[Attributes]]:
    def load() -> list[Attributes]:
        found: list[Attributes] = []
        for each in [series] if series is not None else study.sorted_series():
            if each.instances:
                first = each.instances[min(each.instances)]
                found.append(effective_attributes(study, each, first))
        return found

    return load


def _modalities(study: Study) -> str:
    found: list[str] = []
    for series in study.sorted_series():
        attribute = series.attributes.get(MODALITY) or series.normalized_attributes.get(MODALITY)
        if attribute is None and series.instances:
            attribute = series.sorted_instances()[0].attributes.get(MODALITY)
        if attribute is not None and attribute.val and attribute.val not in found:
            found.append(attribute.val)
    return "\\".join(found)


def study_record(study: Study, url: str) -> Record:
    record = Record([study.attributes], _first_instances(study, None))
    computed = record.computed
    computed[MODALITIES_IN_STUDY] = _text(MODALITIES_IN_STUDY, _modalities(study))
    computed[STUDY_SERIES_COUNT] = _text(STUDY_SERIES_COUNT, str(len(study.series)))
    computed[STUDY_INSTANCE_COUNT] = _text(STUDY_INSTANCE_COUNT, str(study.instance_count))
    computed[RETRIEVE_URL] = _text(RETRIEVE_URL, url)
    computed[STUDY_UID] = Attribute(STUDY_UID, "UI", val=study.study_instance_uid)
    return record


def series_record(study: Study, series: Series, url: str) -> Record:
    layers = [series.attributes, series.normalized_attributes, study.attributes]
    record = Record(layers, _first_instances(study, series))
    computed = record.computed
    computed[SERIES_INSTANCE_COUNT] = _text(SERIES_INSTANCE_COUNT, str(len(series.instances)))
    computed[RETRIEVE_URL] = _text(RETRIEVE_URL, url)
    computed[STUDY_UID] = Attribute(STUDY_UID, "UI", val=study.study_instance_uid)
    computed[SERIES_UID] = Attribute(SERIES_UID, "UI", val=series.series_instance_uid)
    return record


def instance_record(study: Study, series: Series, instance: Instance, url: str) -> Record:
    record = Record([effective_attributes(study, series, instance)], list)
    record.computed[RETRIEVE_URL] = _text(RETRIEVE_URL, url)
    record.computed[SERIES_UID] = Attribute(SERIES_UID, "UI", val=series.series_instance_uid)
    return record


def describe(record: Record, search: Search) -> str:
    """The record's JSON object with the search's return keys."""
    keys = search.return_keys()
    if search.include_all:
        keys |= record.own_tags()
    chosen = []
    for tag in sorted(keys):
        if tag >> 16 == 0x0002:
            continue
        attribute = record.get(tag)
        if attribute is not None and attribute.tag == tag:
            chosen.append(attribute)
    return "{" + dicom_json.entries(chosen, None) + "}"


# --- running a search ------------------------------------------------------------------


@dataclass
class Urls:
    """How to name what a search found (absolute WADO-RS URLs)."""

    root: str

    def study(self, study: str) -> str:
        return f"{self.root}/studies/{study}"

    def series(self, study: str, series: str) -> str:
        return f"{self.study(study)}/series/{series}"

    def instance(self, study: str, series: str, sop: str) -> str:
        return f"{self.series(study, series)}/instances/{sop}"


def _records_of_study(
    snapshot_study: Study, level: str, urls: Urls, series_uid: str | None
) -> Iterator[Record]:
    study = snapshot_study
    uid = study.study_instance_uid
    if level == STUDY:
        yield study_record(study, urls.study(uid))
        return
    for series in study.sorted_series():
        if series_uid is not None and series.series_instance_uid != series_uid:
            continue
        if level == SERIES:
            yield series_record(study, series, urls.series(uid, series.series_instance_uid))
            continue
        for instance in series.sorted_instances():
            url = urls.instance(uid, series.series_instance_uid, instance.sop_instance_uid)
            yield instance_record(study, series, instance, url)


def _index_query(conditions: list[Condition]) -> SearchQuery:
    """What of the conditions the study index can filter on (a superset of the matches)."""
    values: dict[str, object] = {}
    for condition in conditions:
        text = condition.value
        if condition.universal or any(c in text for c in "*?\\,"):
            continue
        if condition.tag == STUDY_UID:
            values["study_instance_uid"] = text
        elif condition.tag == 0x00100020:
            values["patient_id"] = text
        elif condition.tag == 0x00080050:
            values["accession_number"] = text
        elif condition.tag == MODALITIES_IN_STUDY:
            values["modalities_in_study"] = (text,)
        elif condition.tag == 0x00080020 and re.fullmatch(
            r"[0-9]{8}(-[0-9]{8})?|[0-9]{8}-|-[0-9]{8}", text
        ):
            low, dash, high = text.partition("-")
            if low:
                values["min_study_date"] = low
            if high or not dash:
                values["max_study_date"] = high or low
    return SearchQuery(**values)  # type: ignore[arg-type]


@dataclass
class Answer:
    """The JSON objects found and what the client should be warned about."""

    objects: list[str]
    warnings: list[str]


def run_in_study(
    reads: StoreReads, search: Search, urls: Urls, study_uid: str, series_uid: str | None, cap: int
) -> Answer:
    """A search inside one study (404 if the study or series is not there)."""
    snapshot = reads.snapshot(study_uid)
    if series_uid is not None:
        snapshot.series(series_uid)
    return _collect(iter([snapshot.study]), search, urls, series_uid, cap)


def run_across(reads: StoreReads, search: Search, urls: Urls, cap: int, budget: int) -> Answer:
    """A search over every study the index finds for the conditions it can use."""
    query = _index_query(search.conditions)
    scanned = 0
    exhausted = [False]

    def studies() -> Iterator[Study]:
        nonlocal scanned
        for uid in reads.iter_study_uids(query, budget):
            scanned += 1
            try:
                yield reads.snapshot(uid).study
            except (StudyGone, StudyNotFound):
                continue  # deleted since the index was read
        exhausted[0] = scanned >= budget

    answer = _collect(studies(), search, urls, None, cap)
    if exhausted[0]:
        answer.warnings.append(f"only the first {budget} studies were searched")
    return answer


def _collect(
    studies: Iterator[Study], search: Search, urls: Urls, series_uid: str | None, cap: int
) -> Answer:
    limit = min(search.limit, cap) if search.limit else cap
    warnings = list(search.warnings)
    if search.limit and search.limit > cap:
        warnings.append(f"limit lowered to {cap}")
    found: list[str] = []
    skipped = 0
    more = False
    for study in studies:
        for record in _records_of_study(study, search.level, urls, series_uid):
            if not record.matches(search.conditions):
                continue
            if skipped < search.offset:
                skipped += 1
                continue
            if len(found) >= limit:
                more = True
                break
            found.append(describe(record, search))
        if more:
            break
    if more and not search.limit:
        warnings.append(f"the results were truncated to {limit}; use limit and offset to page")
    return Answer(found, warnings)
