"""Reading the JSON metadata format (see :mod:`mintstore.formats.json_writer`).

Strict on purpose: JSON is our own format, so an unknown key, a duplicate
key, a wrong type or a value form that does not fit is an error rather than
something silently dropped. Numbers are kept as their literal text so DICOM
values survive exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mintstore.errors import InvalidMetadata
from mintstore.formats.checks import MAX_SEQUENCE_DEPTH, UINT32_MAX, check_study
from mintstore.formats.json_values import JsonNumber, val_from_array
from mintstore.formats.limits import Budget
from mintstore.formats.wire import decode_base64, parse_uint
from mintstore.model import Attribute, Attributes, Encapsulation, Instance, Item, Series, Study

_TAG = re.compile(r"[0-9a-fA-F]{8}\Z")
_BULK_URI = re.compile(r"(?:^|/)binaryitems/([0-9]{1,10})(?:-([0-9]{1,10}))?(?:\.dat)?\Z")

_STUDY_KEYS = {"studyInstanceUID", "type", "version", "instanceCount", "attributes", "seriesList"}
_SERIES_KEYS = {
    "seriesInstanceUID",
    "instanceCount",
    "exclude",
    "attributes",
    "normalizedInstanceAttributes",
    "instances",
}
_INSTANCE_KEYS = {"sopInstanceUID", "transferSyntaxUID", "exclude", "attributes", "preamble"}
_ATTRIBUTE_KEYS = {"vr", "Value", "InlineBinary", "BulkDataURI", "MINT"}
_EXTRA_KEYS = {
    "bytes",
    "bsize",
    "framecount",
    "encapsulation",
    "exclude",
    "undefinedLength",
    "undefinedLengthItems",
}


def decode_json(data: bytes, budget: Budget | None = None) -> Study:
    """Parse a JSON metadata document into a checked study model.

    With a ``budget``, every JSON object is charged while the parser runs
    (an attribute is at least one object), so a document with a million
    attributes is refused before the parser has built them all.
    """
    budget = budget or Budget(None)
    budget.check_markup(data.count(b"{"), "JSON objects")
    budget.check_separators(data.count(b","))

    def counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        budget.set_of(len(pairs), "a JSON object")
        return _no_duplicates(pairs)

    try:
        document = json.loads(
            data,
            object_pairs_hook=counted if budget.limits is not None else _no_duplicates,
            parse_int=JsonNumber,
            parse_float=JsonNumber,
            parse_constant=_no_constant,
        )
    except InvalidMetadata:
        raise  # a budget ran out while parsing
    except (ValueError, RecursionError) as error:  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise InvalidMetadata(f"not valid JSON metadata: {error}") from None
    study_object = _object(document, "document", _STUDY_KEYS)
    study = Study(
        study_instance_uid=_string(study_object, "studyInstanceUID", "study", required=True),
        type=_string(study_object, "type", "study") or "DICOM",
        version=_uint(study_object, "version", "study", 2**63 - 1),
        attributes=_attributes(study_object.get("attributes", {}), "study", 0),
    )
    for series_object in _array(study_object.get("seriesList", []), "seriesList"):
        series = _series(series_object)
        if series.series_instance_uid in study.series:
            raise InvalidMetadata(f"series {series.series_instance_uid!r} appears twice")
        study.series[series.series_instance_uid] = series
    _uint(study_object, "instanceCount", "study", UINT32_MAX)  # informative; checked for type only
    check_study(study)
    return study


def _series(value: object) -> Series:
    obj = _object(value, "series", _SERIES_KEYS)
    uid = _string(obj, "seriesInstanceUID", "series", required=True)
    where = f"series {uid!r}"
    series = Series(
        series_instance_uid=uid,
        attributes=_attributes(obj.get("attributes", {}), where, 0),
        normalized_attributes=_attributes(obj.get("normalizedInstanceAttributes", {}), where, 0),
        exclude=_flag(obj, where),
    )
    _uint(obj, "instanceCount", where, UINT32_MAX)
    for instance_value in _array(obj.get("instances", []), f"{where} instances"):
        instance_object = _object(instance_value, f"{where} instance", _INSTANCE_KEYS)
        sop_uid = _string(instance_object, "sopInstanceUID", where, required=True)
        if sop_uid in series.instances:
            raise InvalidMetadata(f"{where}: instance {sop_uid!r} appears twice")
        preamble = _string(instance_object, "preamble", sop_uid)
        series.instances[sop_uid] = Instance(
            sop_instance_uid=sop_uid,
            transfer_syntax_uid=_string(instance_object, "transferSyntaxUID", sop_uid),
            attributes=_attributes(instance_object.get("attributes", {}), sop_uid, 0),
            exclude=_flag(instance_object, sop_uid),
            preamble=None if preamble is None else decode_base64(preamble, f"{sop_uid} preamble"),
        )
    return series


def _attributes(value: object, where: str, depth: int) -> Attributes:
    if depth > MAX_SEQUENCE_DEPTH:
        raise InvalidMetadata(f"{where}: sequences nested deeper than {MAX_SEQUENCE_DEPTH}")
    if not isinstance(value, dict):
        raise InvalidMetadata(f"{where}: an attribute set must be a JSON object")
    attributes: Attributes = {}
    for key, attribute_value in value.items():
        if not _TAG.match(key):
            raise InvalidMetadata(f"{where}: key {key[:20]!r} is not an 8-hex-digit tag")
        tag = int(key, 16)
        if tag in attributes:
            raise InvalidMetadata(f"{where}: attribute {tag:08x} appears twice")
        attributes[tag] = _attribute(tag, attribute_value, f"{where}: attribute {tag:08x}", depth)
    return attributes


def _attribute(tag: int, value: object, at: str, depth: int) -> Attribute:
    obj = _object(value, at, _ATTRIBUTE_KEYS)
    vr = _string(obj, "vr", at, required=True)
    extras = _object(obj.get("MINT", {}), f"{at} MINT", _EXTRA_KEYS)
    attribute = Attribute(
        tag=tag,
        vr=vr,
        exclude=_flag(extras, at),
        undefined_length=_flag(extras, at, "undefinedLength"),
    )
    values = obj.get("Value")
    if vr == "SQ":
        items = _array(values if values is not None else [], f"{at} Value")
        attribute.items = [Item(_attributes(item, at, depth + 1)) for item in items]
    elif values is not None:
        attribute.val = val_from_array(vr, values, at)
    _mark_delimited_items(attribute, extras.get("undefinedLengthItems"), at)
    inline = _string(obj, "InlineBinary", at)
    raw = _string(extras, "bytes", at)
    if inline is not None and raw is not None:
        raise InvalidMetadata(f"{at}: both InlineBinary and MINT.bytes")
    encoded = inline if inline is not None else raw
    if encoded is not None:
        attribute.data = decode_base64(encoded, f"{at} binary value")
    _bulk_data(obj, extras, attribute, at)
    return attribute


def _bulk_data(obj: dict[str, Any], extras: dict[str, Any], attribute: Attribute, at: str) -> None:
    uri = _string(obj, "BulkDataURI", at)
    attribute.bsize = _uint(extras, "bsize", at, UINT32_MAX)
    attribute.framecount = _uint(extras, "framecount", at, UINT32_MAX)
    if attribute.framecount == 1:
        attribute.framecount = None
    if "encapsulation" in extras:
        attribute.encapsulation = _encapsulation(extras["encapsulation"], at)
    if uri is None:
        return
    match = _BULK_URI.search(uri)
    if match is None:
        raise InvalidMetadata(f"{at}: BulkDataURI {uri[:60]!r} does not name a binary item")
    attribute.bid = parse_uint(match.group(1), f"{at} bid", UINT32_MAX)
    if match.group(2) is not None:
        frames = int(match.group(2)) - attribute.bid + 1
        if frames != attribute.frame_count():
            raise InvalidMetadata(f"{at}: BulkDataURI range disagrees with framecount")


def _mark_delimited_items(attribute: Attribute, indexes: object, at: str) -> None:
    if indexes is None:
        return
    items = attribute.items or []
    previous = -1
    for value in _array(indexes, f"{at} undefinedLengthItems"):
        index = _number(value, f"{at} undefinedLengthItems")
        if not previous < index < len(items):
            raise InvalidMetadata(f"{at}: undefinedLengthItems must be rising item indexes")
        items[index].undefined_length = True
        previous = index


def _encapsulation(value: object, at: str) -> Encapsulation:
    obj = _object(value, f"{at} encapsulation", {"offsetTable", "fragments"})
    offset_table = _string(obj, "offsetTable", at) or ""
    frames = _array(obj.get("fragments", []), f"{at} fragments")
    fragments: list[list[int]] = []
    for frame in frames:
        lengths = _array(frame, f"{at} fragments")
        fragments.append([_number(length, f"{at} fragment length") for length in lengths])
    return Encapsulation(decode_base64(offset_table, f"{at} offsetTable"), fragments)


# --- typed access ------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _object(value: object, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidMetadata(f"{where} must be a JSON object")
    unknown = set(value) - keys
    if unknown:
        raise InvalidMetadata(f"{where}: unknown keys {sorted(unknown)[:5]}")
    return value


def _array(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidMetadata(f"{where} must be a JSON array")
    return value


def _string(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidMetadata(f"{where}: {key} is missing")
        return None
    if not isinstance(value, str) or isinstance(value, JsonNumber):
        raise InvalidMetadata(f"{where}: {key} must be a string")
    return value


def _uint(obj: dict[str, Any], key: str, where: str, maximum: int) -> int | None:
    value = obj.get(key)
    return None if value is None else _number(value, f"{where} {key}", maximum)


def _number(value: object, what: str, maximum: int = UINT32_MAX) -> int:
    if not isinstance(value, JsonNumber):
        raise InvalidMetadata(f"{what} must be a number")
    return parse_uint(value, what, maximum)


def _flag(obj: dict[str, Any], where: str, key: str = "exclude") -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise InvalidMetadata(f"{where}: {key} must be true or false")
    return value
