"""Is every value of an uploaded study one DICOM can carry? Checked before it is stored.

A MINT upload (XML, GPB or JSON) describes values as text; nothing forces
that text to fit its VR. A US of 100,000 digits was stored and then every
read of the instance failed ("cannot be rebuilt"), and an IS of 100,000
digits came back as UN, because a value longer than 65,534 bytes has no
place in an explicit-VR element with a 2-byte length. Decision: such
uploads are refused (400) when they arrive, so that everything stored reads
back unchanged, with its VR. Values converted from Part-10 files fit by
construction (their raw bytes are kept whenever the text is not exact).
"""

from __future__ import annotations

import struct

from mintstore.convert.to_dicom import encodings_of as _encodings
from mintstore.convert.values import (
    DEFAULT_ENCODINGS,
    TEXT_VRS,
    encode_text,
    is_number_vr,
    number_bytes,
)
from mintstore.errors import InvalidMetadata
from mintstore.model import Attribute, Attributes, Study

#: VRs whose explicit-VR element header has a 2-byte length (PS3.5 7.1.2).
SHORT_LENGTH_VRS = frozenset(
    {
        "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO",
        "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US",
    }
)  # fmt: skip
#: Largest even value a 2-byte length can give.
MAX_SHORT_VALUE = 0xFFFE


def check_rebuildable(study: Study) -> None:
    """Raise InvalidMetadata unless every value of ``study`` encodes as DICOM.

    Numbers must parse and fit their VR (a US is 0..65535), text must encode
    in the instance's Specific Character Set (as the rebuild does it), and a
    value in a short-length VR must fit a 2-byte length. Excluded series and
    instances (deltas removing what is stored) are skipped. Shared sets
    (study, series, normalized) are checked once per character set.
    """
    checked: set[tuple[int, tuple[str, ...]]] = set()
    for series in study.series.values():
        if series.exclude:
            continue
        for instance in series.instances.values():
            if instance.exclude:
                continue
            where = f"instance {instance.sop_instance_uid}"
            levels = (
                study.attributes,
                series.attributes,
                series.normalized_attributes,
                instance.attributes,
            )
            encodings: tuple[str, ...] = DEFAULT_ENCODINGS
            for attributes in levels:
                encodings = _encodings(attributes, encodings)
            for attributes in levels:
                key = (id(attributes), encodings)
                if key not in checked:
                    _check_set(attributes, where, encodings)
                    if attributes is not instance.attributes:
                        checked.add(key)
    if not study.series:
        _check_set(study.attributes, "study", DEFAULT_ENCODINGS)


def _check_set(attributes: Attributes, where: str, encodings: tuple[str, ...]) -> None:
    encodings = _encodings(attributes, encodings)
    for attribute in attributes.values():
        _check_value(attribute, where, encodings)
        for item in attribute.items or ():
            _check_set(item.attributes, where, encodings)


def _check_value(attribute: Attribute, where: str, encodings: tuple[str, ...]) -> None:
    vr = attribute.vr
    at = f"{where}: attribute {attribute.tag:08x} ({vr})"
    if attribute.bid is not None or attribute.exclude:
        return
    if attribute.data is not None:
        size = len(attribute.data)
    elif attribute.val is None:
        return
    elif is_number_vr(vr):
        try:
            size = len(number_bytes(attribute, True))
        except (ValueError, struct.error, OverflowError, IndexError):
            raise InvalidMetadata(
                f"{at}: value {attribute.val[:40]!r} does not fit the VR"
            ) from None
    elif vr in TEXT_VRS:
        if vr in SHORT_LENGTH_VRS and len(attribute.val) > MAX_SHORT_VALUE:
            size = len(attribute.val)  # too long whatever the encoding; do not encode it
        else:
            encoded = encode_text(vr, attribute.val, encodings)
            if encoded is None:
                raise InvalidMetadata(
                    f"{at}: value {attribute.val[:40]!r} cannot be encoded in the "
                    f"character set {', '.join(encodings)} (set Specific Character Set)"
                )
            size = len(encoded)
    else:
        return
    if vr in SHORT_LENGTH_VRS and size > MAX_SHORT_VALUE:
        raise InvalidMetadata(
            f"{at}: a value of {size} bytes does not fit a {vr} element (at most {MAX_SHORT_VALUE})"
        )
