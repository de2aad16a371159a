"""Semantic checks on a study model, run by every decoder and encoder.

A document can be well-formed XML, GPB or JSON and still describe nonsense
(two value forms on one attribute, a tag beyond 32 bits, a sequence nested a
thousand deep). Checking the *model* once, in one place, gives every format
the same rules, and running the checks before encoding too means we never
write a document that we would refuse to read back.
"""

from __future__ import annotations

import re

from mintstore.errors import InvalidMetadata
from mintstore.model import Attribute, Attributes, Encapsulation, Study

UINT32_MAX = 0xFFFFFFFF

#: Sequences nested deeper than this are refused: real DICOM rarely goes past
#: five levels, and every decoder (protobuf's own recursion limit included)
#: must accept whatever the others accept.
MAX_SEQUENCE_DEPTH = 32

#: Length of the Part-10 preamble an instance may keep.
PREAMBLE_SIZE = 128

#: VRs whose raw ``data`` bytes always accompany the text ``val``.
FLOAT_VRS = frozenset({"FL", "FD"})

_VR_PATTERN = re.compile(r"[A-Z]{2}\Z")
# Characters allowed in UIDs and types: printable ASCII without spaces. The
# strict DICOM UID syntax is the HTTP layer's job (real files break it).
_NAME_PATTERN = re.compile(r"[!-~]+\Z")


def check_study(study: Study) -> None:
    """Raise InvalidMetadata unless ``study`` is a model every format can carry."""
    _check_name(study.study_instance_uid, "studyInstanceUID")
    _check_name(study.type, "study type")
    if study.version is not None and not 0 <= study.version <= 2**63 - 1:
        raise InvalidMetadata(f"study version {study.version} is out of range")
    check_attributes(study.attributes, "study attributes")
    for key, series in study.series.items():
        where = f"series {series.series_instance_uid!r}"
        _check_name(series.series_instance_uid, f"{where}: seriesInstanceUID")
        if key != series.series_instance_uid:
            raise InvalidMetadata(f"{where} is filed under the key {key!r}")
        check_attributes(series.attributes, f"{where} attributes")
        check_attributes(series.normalized_attributes, f"{where} normalized attributes")
        for sop_uid, instance in series.instances.items():
            at = f"{where} instance {instance.sop_instance_uid!r}"
            _check_name(instance.sop_instance_uid, f"{at}: sopInstanceUID")
            if sop_uid != instance.sop_instance_uid:
                raise InvalidMetadata(f"{at} is filed under the key {sop_uid!r}")
            if instance.transfer_syntax_uid is not None:
                _check_name(instance.transfer_syntax_uid, f"{at}: transferSyntaxUID")
            preamble = instance.preamble
            if preamble is not None and not (
                isinstance(preamble, bytes) and len(preamble) == PREAMBLE_SIZE
            ):
                raise InvalidMetadata(f"{at}: a preamble is {PREAMBLE_SIZE} bytes")
            check_attributes(instance.attributes, f"{at} attributes")


def check_attributes(attributes: Attributes, where: str, depth: int = 0) -> None:
    """Check one attribute set (and, recursively, its sequence items)."""
    if depth > MAX_SEQUENCE_DEPTH:
        raise InvalidMetadata(f"{where}: sequences nested deeper than {MAX_SEQUENCE_DEPTH}")
    for key, attribute in attributes.items():
        if key != attribute.tag:
            raise InvalidMetadata(f"{where}: attribute {attribute.tag!r} filed under {key!r}")
        check_attribute(attribute, where, depth)


def check_attribute(attribute: Attribute, where: str, depth: int = 0) -> None:
    """Check the value forms of one attribute: exactly one, and well-formed."""
    tag = attribute.tag
    if not isinstance(tag, int) or not 0 <= tag <= UINT32_MAX:
        raise InvalidMetadata(f"{where}: tag {tag!r} is not a 32-bit unsigned integer")
    at = f"{where}: attribute {tag:08x}"
    if not isinstance(attribute.vr, str) or not _VR_PATTERN.match(attribute.vr):
        raise InvalidMetadata(f"{at}: VR {attribute.vr!r} is not two capital letters")
    if attribute.val is not None:
        _check_text(attribute.val, at)
    if attribute.data is not None and not isinstance(attribute.data, bytes):
        raise InvalidMetadata(f"{at}: inline data must be bytes")
    _check_forms(attribute, at)
    if attribute.bid is not None:
        _check_binary_reference(attribute, at)
    elif (
        attribute.bsize is not None
        or attribute.framecount is not None
        or attribute.encapsulation is not None
    ):
        raise InvalidMetadata(f"{at}: bsize, framecount or encapsulation without bid")
    for index, item in enumerate(attribute.items or ()):
        check_attributes(item.attributes, f"{at} item {index}", depth + 1)


def _check_forms(attribute: Attribute, at: str) -> None:
    forms = [
        name
        for name, present in (
            ("val", attribute.val is not None),
            ("bytes", attribute.data is not None),
            ("bid", attribute.bid is not None),
            ("items", bool(attribute.items)),
        )
        if present
    ]
    if attribute.vr == "SQ":
        if attribute.items is None or forms not in ([], ["items"]):
            raise InvalidMetadata(f"{at}: a sequence holds items and nothing else")
        return
    if attribute.items is not None:
        raise InvalidMetadata(f"{at}: only VR SQ may have items")
    # Text plus raw bytes is one form: the raw value, with a readable rendering
    # (FL/FD always; other VRs when the text alone is not exact).
    if len(forms) > 1 and forms != ["val", "bytes"]:
        raise InvalidMetadata(f"{at}: more than one value form ({', '.join(forms)})")


def _check_binary_reference(attribute: Attribute, at: str) -> None:
    bid = attribute.bid
    frames = attribute.framecount
    if not isinstance(bid, int) or not 0 <= bid <= UINT32_MAX:
        raise InvalidMetadata(f"{at}: bid {bid!r} out of range")
    if attribute.bsize is not None and not 0 <= attribute.bsize <= UINT32_MAX:
        raise InvalidMetadata(f"{at}: bsize {attribute.bsize!r} out of range")
    if frames is not None and not (frames >= 2 and bid + frames - 1 <= UINT32_MAX):
        raise InvalidMetadata(f"{at}: framecount {frames!r} (must be > 1, or absent for one)")
    if attribute.encapsulation is not None:
        check_encapsulation(attribute.encapsulation, at)


def check_encapsulation(encapsulation: Encapsulation, at: str) -> None:
    """Fragment lengths fit the wire formats; every frame has a fragment."""
    if not isinstance(encapsulation.offset_table, bytes):
        raise InvalidMetadata(f"{at}: offset table must be bytes")
    for index, lengths in enumerate(encapsulation.frame_fragments):
        if not lengths:
            raise InvalidMetadata(f"{at}: encapsulated frame {index} has no fragments")
        for length in lengths:
            if not isinstance(length, int) or not 0 <= length <= UINT32_MAX:
                raise InvalidMetadata(f"{at}: fragment length {length!r} out of range")


def _check_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise InvalidMetadata(f"{what} {value!r} is empty or has spaces or control characters")


def _check_text(value: object, at: str) -> None:
    if not isinstance(value, str):
        raise InvalidMetadata(f"{at}: val must be text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidMetadata(f"{at}: val is not valid Unicode ({error.reason})") from None
