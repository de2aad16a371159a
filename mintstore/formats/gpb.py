"""MINT metadata as protocol buffers (RI field numbers; see mint.proto).

The storage engine keeps every metadata version as gzipped GPB, so this is
the format that must be fast and exact. Encoding is deterministic (same model
-> same bytes) because stored documents are addressed by their digest.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.protobuf.message import DecodeError

from mintstore.errors import InvalidMetadata
from mintstore.formats import mint_pb2 as pb
from mintstore.formats.checks import UINT32_MAX, check_study
from mintstore.formats.limits import Budget
from mintstore.formats.wire import EXCLUDE_TRUE, parse_exclude, parse_uint
from mintstore.model import (
    Attribute,
    Attributes,
    Encapsulation,
    Instance,
    Item,
    Series,
    Study,
    sorted_attributes,
)

# --- encoding ------------------------------------------------------------------


def encode_gpb(study: Study, *, summary: bool = False) -> bytes:
    """Serialize ``study`` as one StudyData message; ``summary`` leaves out instances."""
    check_study(study)
    message = pb.StudyData(
        study_instance_uid=study.study_instance_uid,
        type=study.type,
        instance_count=study.instance_count,
    )
    if study.version is not None:
        message.version = str(study.version)
    _fill_attributes(message.attributes, study.attributes)
    for series in study.sorted_series():
        _fill_series(message.series.add(), series, summary=summary)
    return message.SerializeToString(deterministic=True)


def _fill_series(message: pb.SeriesData, series: Series, *, summary: bool) -> None:
    message.series_instance_uid = series.series_instance_uid
    message.instance_count = len(series.instances)
    if series.exclude:
        message.exclude = EXCLUDE_TRUE
    _fill_attributes(message.attributes, series.attributes)
    if summary:
        return
    _fill_attributes(message.normalized_instance_attributes, series.normalized_attributes)
    for instance in series.sorted_instances():
        target = message.instances.add(sop_instance_uid=instance.sop_instance_uid)
        if instance.transfer_syntax_uid is not None:
            target.transfer_syntax_uid = instance.transfer_syntax_uid
        if instance.exclude:
            target.exclude = EXCLUDE_TRUE
        if instance.preamble is not None:
            target.preamble = instance.preamble
        _fill_attributes(target.attributes, instance.attributes)


def _fill_attributes(
    target: RepeatedCompositeFieldContainer[pb.AttributeData], attributes: Attributes
) -> None:
    for attribute in sorted_attributes(attributes):
        _fill_attribute(target.add(), attribute)


def _fill_attribute(message: pb.AttributeData, attribute: Attribute) -> None:
    message.tag = attribute.tag
    message.vr = attribute.vr
    if attribute.exclude:
        message.exclude = EXCLUDE_TRUE
    if attribute.val:
        message.string_value = attribute.val
    if attribute.data is not None:
        message.bytes = attribute.data
    if attribute.bid is not None:
        message.binary_item_id = attribute.bid
        if attribute.bsize is not None:
            message.binary_item_size = attribute.bsize
        if attribute.framecount is not None and attribute.framecount > 1:
            message.frame_count = attribute.framecount
    if attribute.encapsulation is not None:
        encapsulation = message.encapsulation
        encapsulation.offset_table = attribute.encapsulation.offset_table
        for lengths in attribute.encapsulation.frame_fragments:
            encapsulation.frames.add(fragment_lengths=lengths)
    if attribute.undefined_length:
        message.undefined_length = True
    for item in attribute.items or ():
        item_message = message.items.add()
        if item.undefined_length:
            item_message.undefined_length = True
        _fill_attributes(item_message.attributes, item.attributes)


# --- decoding ------------------------------------------------------------------


def decode_gpb(data: bytes, budget: Budget | None = None) -> Study:
    """Parse one StudyData message; anything malformed raises InvalidMetadata.

    With a ``budget``, the wire format is scanned first (:func:`_scan`), so a
    document with a million attributes is refused before protobuf parses it.
    """
    budget = budget or Budget(None)
    if budget.limits is not None:
        _scan(data, budget)
    message = pb.StudyData()
    try:
        message.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError) as error:
        raise InvalidMetadata(f"not a MINT GPB document: {error}") from None
    if not message.HasField("study_instance_uid"):
        raise InvalidMetadata("GPB StudyData has no study_instance_uid")
    study = Study(
        study_instance_uid=message.study_instance_uid,
        type=message.type if message.HasField("type") else "DICOM",
        version=(
            parse_uint(_text(message.version, "study version"), "study version", 2**63 - 1)
            if message.HasField("version")
            else None
        ),
        attributes=_attributes(message.attributes, "study", budget),
    )
    for series_message in message.series:
        series = _series(series_message, budget)
        if series.series_instance_uid in study.series:
            raise InvalidMetadata(f"series {series.series_instance_uid!r} appears twice")
        study.series[series.series_instance_uid] = series
    check_study(study)
    return study


# Field numbers of mint.proto that hold repeated sets, per message kind.
_STUDY_ATTRIBUTES, _STUDY_SERIES = 2, 3
_SERIES_SETS, _SERIES_INSTANCES = (3, 4), 5
_INSTANCE_ATTRIBUTES = 4
_LENGTH_DELIMITED = 2


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise InvalidMetadata("not a MINT GPB document: a varint is cut short or too long")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _skip(data: bytes, position: int, wire_type: int) -> int:
    if wire_type == 0:
        return _varint(data, position)[1]
    if wire_type == 1:
        return position + 8
    if wire_type == 5:
        return position + 4
    raise InvalidMetadata(f"not a MINT GPB document: wire type {wire_type}")


def _scan(
    data: bytes, budget: Budget, start: int = 0, end: int | None = None, kind: str = "study"
) -> None:
    """Count a message's sets on the wire, before protobuf builds anything.

    Parsing a million attributes costs protobuf about 110 MiB; reading the
    wire format's keys and lengths costs nothing but time, and stops at the
    first set or node count over the budget. Attributes are counted, not
    entered (their items are counted while the model is built).
    """
    end = len(data) if end is None else end
    position = start
    sets: dict[int, int] = {}
    while position < end:
        key = data[position]
        if key < 0x80:
            position += 1
        else:
            key, position = _varint(data, position)
        field, wire_type = key >> 3, key & 7
        if wire_type != _LENGTH_DELIMITED:
            position = _skip(data, position, wire_type)
            continue
        length = data[position] if position < end else 0x80
        if length < 0x80:
            position += 1
        else:
            length, position = _varint(data, position)
        inner, position = position, position + length
        if position > end:
            raise InvalidMetadata("not a MINT GPB document: a field is cut short")
        if kind == "study" and field == _STUDY_SERIES:
            budget.take(1, "study")
            _scan(data, budget, inner, position, "series")
        elif kind == "series" and field == _SERIES_INSTANCES:
            budget.take(1, "series")
            _scan(data, budget, inner, position, "instance")
        elif (
            (kind == "study" and field == _STUDY_ATTRIBUTES)
            or (kind == "series" and field in _SERIES_SETS)
            or (kind == "instance" and field == _INSTANCE_ATTRIBUTES)
        ):
            count = sets.get(field, 0) + 1
            sets[field] = count
            if count % 1024 == 0:
                budget.check_size(count, f"{kind} attributes")
    for count in sets.values():
        budget.set_of(count, f"{kind} attributes")


def _series(message: pb.SeriesData, budget: Budget) -> Series:
    if not message.HasField("series_instance_uid"):
        raise InvalidMetadata("GPB SeriesData has no series_instance_uid")
    uid = message.series_instance_uid
    series = Series(
        series_instance_uid=uid,
        attributes=_attributes(message.attributes, f"series {uid!r}", budget),
        normalized_attributes=_attributes(message.normalized_instance_attributes, uid, budget),
        exclude=_exclude(message),
    )
    for instance_message in message.instances:
        if not instance_message.HasField("sop_instance_uid"):
            raise InvalidMetadata(f"series {uid!r}: an instance has no sop_instance_uid")
        sop_uid = instance_message.sop_instance_uid
        if sop_uid in series.instances:
            raise InvalidMetadata(f"series {uid!r}: instance {sop_uid!r} appears twice")
        series.instances[sop_uid] = Instance(
            sop_instance_uid=sop_uid,
            transfer_syntax_uid=(
                instance_message.transfer_syntax_uid
                if instance_message.HasField("transfer_syntax_uid")
                else None
            ),
            attributes=_attributes(instance_message.attributes, f"instance {sop_uid!r}", budget),
            exclude=_exclude(instance_message),
            preamble=(instance_message.preamble if instance_message.HasField("preamble") else None),
        )
    return series


def _exclude(message: pb.SeriesData | pb.InstanceData | pb.AttributeData) -> bool:
    if not message.HasField("exclude"):
        return False
    return parse_exclude(_text(message.exclude, "exclude"))


def _text(value: object, what: str) -> str:
    """A proto2 string field as text.

    The protobuf runtime does not validate UTF-8 in proto2 strings: an
    invalid one comes back as ``bytes``, which must be a 400, not a
    TypeError deep in a parser.
    """
    if not isinstance(value, str):
        raise InvalidMetadata(f"GPB field {what} is not valid UTF-8 text")
    return value


def _attributes(messages: Iterable[pb.AttributeData], where: str, budget: Budget) -> Attributes:
    attributes: Attributes = {}
    for message in messages:
        attribute = _attribute(message, where, budget)
        if attribute.tag in attributes:
            raise InvalidMetadata(f"{where}: attribute {attribute.tag:08x} appears twice")
        attributes[attribute.tag] = attribute
    return attributes


def _attribute(message: pb.AttributeData, where: str, budget: Budget) -> Attribute:
    if not message.HasField("tag") or not message.HasField("vr"):
        raise InvalidMetadata(f"{where}: an attribute lacks its tag or VR")
    has_bid = message.HasField("binary_item_id")
    if not has_bid and (message.HasField("frame_count") or message.HasField("binary_item_size")):
        raise InvalidMetadata(f"{where}: attribute {message.tag:08x} has a size but no bid")
    framecount = message.frame_count if message.HasField("frame_count") else None
    if framecount == 1:  # the RI writes the count only when > 1; one frame is no count
        framecount = None
    items = []
    if message.items:
        budget.set_of(len(message.items), f"{where}: items of a sequence")
        for item in message.items:
            budget.set_of(len(item.attributes), f"{where}: an item")
            items.append(Item(_attributes(item.attributes, where, budget), item.undefined_length))
    return Attribute(
        tag=message.tag,
        vr=message.vr,
        val=message.string_value or None,
        data=message.bytes if message.HasField("bytes") else None,
        bid=message.binary_item_id if has_bid else None,
        bsize=message.binary_item_size if message.HasField("binary_item_size") else None,
        framecount=framecount,
        items=items if items or message.vr == "SQ" else None,
        encapsulation=_encapsulation(message) if message.HasField("encapsulation") else None,
        exclude=_exclude(message),
        undefined_length=message.undefined_length,
    )


def _encapsulation(message: pb.AttributeData) -> Encapsulation:
    data = message.encapsulation
    frames = [list(frame.fragment_lengths) for frame in data.frames]
    if any(length > UINT32_MAX for frame in frames for length in frame):
        raise InvalidMetadata("fragment length out of range")
    return Encapsulation(offset_table=data.offset_table, frame_fragments=frames)
