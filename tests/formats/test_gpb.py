"""The GPB format: RI field numbers, RI-written bytes, unknown fields, checks."""

from __future__ import annotations

import pytest

from mintstore import formats
from mintstore.errors import InvalidMetadata
from mintstore.formats import mint_pb2 as pb
from mintstore.model import Attribute, Encapsulation, Study

from .studies import rich_study

# MINT-SPEC 3.2, the RI's field numbers and types.
RI_FIELDS = {
    "StudyData": {
        "study_instance_uid": (1, "string", False),
        "attributes": (2, "AttributeData", True),
        "series": (3, "SeriesData", True),
        "type": (4, "string", False),
        "version": (5, "string", False),
        "instance_count": (6, "uint32", False),
    },
    "SeriesData": {
        "series_instance_uid": (1, "string", False),
        "exclude": (2, "string", False),
        "attributes": (3, "AttributeData", True),
        "normalized_instance_attributes": (4, "AttributeData", True),
        "instances": (5, "InstanceData", True),
        "instance_count": (6, "uint32", False),
    },
    "InstanceData": {
        "sop_instance_uid": (1, "string", False),
        "exclude": (2, "string", False),
        "transfer_syntax_uid": (3, "string", False),
        "attributes": (4, "AttributeData", True),
    },
    "AttributeData": {
        "tag": (1, "uint32", False),
        "exclude": (2, "string", False),
        "vr": (3, "string", False),
        "string_value": (4, "string", False),
        "binary_item_id": (5, "uint32", False),
        "items": (6, "ItemData", True),
        "bytes": (7, "bytes", False),
        "frame_count": (8, "uint32", False),
        "binary_item_size": (9, "uint32", False),
    },
    "ItemData": {"attributes": (1, "AttributeData", True)},
}
_SCALAR_TYPES = {9: "string", 12: "bytes", 13: "uint32"}


@pytest.mark.parametrize("message", sorted(RI_FIELDS))
def test_field_numbers_and_types_match_the_ri(message: str) -> None:
    descriptor = pb.DESCRIPTOR.message_types_by_name[message]
    assert descriptor.full_name == f"mint.metadata.{message}"
    for name, (number, kind, repeated) in RI_FIELDS[message].items():
        field = descriptor.fields_by_name[name]
        assert field.number == number, name
        type_name = field.message_type.name if field.message_type else _SCALAR_TYPES[field.type]
        assert type_name == kind, name
        assert _is_repeated(field) is repeated, name
    extensions = [f for f in descriptor.fields if f.name not in RI_FIELDS[message]]
    assert all(f.number >= 16 for f in extensions)


def _is_repeated(field: object) -> bool:
    # protobuf >= 6 has is_repeated and (7) drops label; 4.x has only label.
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == 3)  # type: ignore[attr-defined]


# --- bytes as the RI writes them, built by hand from the wire format -------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def test_decodes_a_study_written_with_the_ri_field_numbers() -> None:
    pixel = _field(1, 0x7FE00010) + _field(3, "OW") + _field(5, 2) + _field(9, 524288)
    name = _field(1, 0x00100010) + _field(3, "PN") + _field(4, "DOE^JANE")
    inner = _field(1, 0x00081150) + _field(3, "UI") + _field(4, "1.2.840.10008.5.1.4.1.1.2")
    sequence = _field(1, 0x00081115) + _field(3, "SQ") + _field(6, _field(1, inner))
    instance = (
        _field(1, "1.2.3.4.5")
        + _field(3, "1.2.840.10008.1.2.1")
        + _field(4, pixel)
        + _field(4, sequence)
    )
    series = _field(1, "1.2.3.4") + _field(2, "true") + _field(5, instance) + _field(6, 1)
    study = _field(1, "1.2.3") + _field(2, name) + _field(3, series) + _field(4, "DICOM")
    study += _field(5, "7") + _field(6, 1) + _field(99, b"future field")  # unknown: skipped
    decoded = formats.decode(study, "gpb")
    assert decoded.version == 7 and decoded.attributes[0x00100010].val == "DOE^JANE"
    series_model = decoded.series["1.2.3.4"]
    assert series_model.exclude
    attributes = series_model.instances["1.2.3.4.5"].attributes
    assert (attributes[0x7FE00010].bid, attributes[0x7FE00010].bsize) == (2, 524288)
    (item,) = attributes[0x00081115].items or []
    assert item.attributes[0x00081150].val == "1.2.840.10008.5.1.4.1.1.2"


def test_our_output_uses_only_ri_fields_unless_extensions_are_needed() -> None:
    study = rich_study()
    for attribute in study.iter_attributes():
        attribute.encapsulation = None
    message = pb.StudyData.FromString(formats.encode(study, "gpb"))
    assert not any(a.HasField("encapsulation") for a in _all_attributes(message))
    assert message.type == "DICOM" and message.version == "12"


def test_encapsulation_travels_in_field_16() -> None:
    pixel = Attribute(
        0x7FE00010,
        "OB",
        bid=0,
        framecount=2,
        encapsulation=Encapsulation(b"\x00" * 8, [[3, 4], [5]]),
    )
    data = formats.encode(Study("1.2", attributes={pixel.tag: pixel}), "gpb")
    assert _varint(16 << 3 | 2) in data
    message = pb.StudyData.FromString(data)
    frames = message.attributes[0].encapsulation.frames
    assert [list(f.fragment_lengths) for f in frames] == [[3, 4], [5]]
    assert message.attributes[0].frame_count == 2


def test_frame_count_one_means_a_single_frame() -> None:
    attribute = _field(1, 0x7FE00010) + _field(3, "OW") + _field(5, 0) + _field(8, 1)
    study = formats.decode(_field(1, "1.2") + _field(2, attribute), "gpb")
    assert study.attributes[0x7FE00010].framecount is None


@pytest.mark.parametrize(
    "attribute",
    [
        _field(3, "PN"),  # no tag
        _field(1, 0x00100010),  # no VR
        _field(1, 0x00100010) + _field(3, "PN") + _field(9, 5),  # size without bid
        _field(1, 0x00100010) + _field(3, "OB") + _field(5, 1) + _field(7, b"x"),  # two forms
        _field(1, 0x00100010) + _field(3, "LO") + _field(6, b""),  # items on a non-SQ
        _field(1, 0x00100010) + _field(3, "P N"),
        _field(1, 0x00100010) + _field(3, "OB") + _field(5, 1) + _field(8, 0),
    ],
)
def test_semantically_broken_attributes_are_invalid(attribute: bytes) -> None:
    with pytest.raises(InvalidMetadata):
        formats.decode(_field(1, "1.2") + _field(2, attribute), "gpb")


@pytest.mark.parametrize(
    "study",
    [
        _field(2, _field(1, 1) + _field(3, "PN")),  # no study UID
        _field(1, "1.2") + _field(3, _field(2, "true")),  # series without UID
        _field(1, "1.2") + _field(3, _field(1, "1.3") + _field(5, _field(3, "1.2.840"))),
        _field(1, "1.2") + _field(5, "seven"),
        _field(1, "1.2") + _field(3, _field(1, "1.3")) + _field(3, _field(1, "1.3")),
        _field(1, "1.2") + _field(2, _field(1, 1) + _field(3, "PN")) * 2,  # duplicate tag
        _field(1, b"\xff\xfe"),  # not UTF-8
    ],
)
def test_structurally_broken_studies_are_invalid(study: bytes) -> None:
    with pytest.raises(InvalidMetadata):
        formats.decode(study, "gpb")


def test_deep_nesting_is_refused() -> None:
    attribute = _field(1, 1) + _field(3, "UI") + _field(4, "1.2")
    for _ in range(300):
        attribute = _field(1, 0x00081115) + _field(3, "SQ") + _field(6, _field(1, attribute))
    with pytest.raises(InvalidMetadata):
        formats.decode(_field(1, "1.2") + _field(2, attribute), "gpb")


def _all_attributes(message: pb.StudyData) -> list[pb.AttributeData]:
    found = list(message.attributes)
    for series in message.series:
        found += series.attributes
        found += series.normalized_instance_attributes
        for instance in series.instances:
            found += instance.attributes
    return found


def test_encoding_facts_travel_in_extension_fields() -> None:
    message = pb.StudyData.FromString(formats.encode(rich_study(), "gpb"))
    instances = [i for s in message.series for i in s.instances]
    (with_preamble,) = [i for i in instances if i.HasField("preamble")]
    assert with_preamble.preamble.startswith(b"II*")
    assert pb.InstanceData.DESCRIPTOR.fields_by_name["preamble"].number == 16
    assert pb.AttributeData.DESCRIPTOR.fields_by_name["undefined_length"].number == 17
    assert pb.ItemData.DESCRIPTOR.fields_by_name["undefined_length"].number == 16
    sequence = next(a for a in with_preamble.attributes if a.tag == 0x00081199)
    assert sequence.undefined_length and [i.undefined_length for i in sequence.items] == [
        False,
        True,
    ]
