"""MINT attributes written in the DICOM JSON model (PS3.18 Annex F) for DICOMweb.

Values come from the normalized metadata alone: text values through the
same lossless mapping as mintstore's JSON format
(:func:`mintstore.formats.json_values.value_array`), small binary values as
``InlineBinary``, and every binary item as a ``BulkDataURI`` naming the
study-scoped item (bids are study-wide, so one URI form serves every
instance and the shared levels of a series can be written once).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from mintstore.formats.json_values import NUMERIC_VRS, value_array
from mintstore.formats.wire import encode_base64
from mintstore.model import BINARY_VRS, Attribute, Attributes

#: Printable ASCII without quote or backslash: one value that JSON carries as is.
_PLAIN = re.compile(r"[ !#-\[\]-~]*\Z")


def _value(vr: str, val: str) -> str:
    """``value_array`` with a shortcut for the common one-value plain string."""
    if vr != "PN" and vr not in NUMERIC_VRS and _PLAIN.match(val):
        return '["' + val + '"]'
    return value_array(vr, val)


def bulk_uri(bulk_base: str, attribute: Attribute) -> str:
    """The BulkDataURI of an attribute's binary item(s)."""
    assert attribute.bid is not None
    last = attribute.bid + attribute.frame_count() - 1
    suffix = str(attribute.bid) if last == attribute.bid else f"{attribute.bid}-{last}"
    return f"{bulk_base}/{suffix}"


def element(attribute: Attribute, bulk_base: str | None) -> str:
    """One attribute's JSON object (``{"vr": ..., "Value": [...]}``).

    ``bulk_base`` None leaves bulk references out (QIDO-RS answers).
    """
    text = '{"vr":"' + attribute.vr + '"'
    if attribute.items is not None:
        if attribute.items:
            inner = ",".join(members(item.attributes, bulk_base) for item in attribute.items)
            text += ',"Value":[' + inner + "]"
        return text + "}"
    if attribute.bid is not None:
        if bulk_base is not None:
            text += ',"BulkDataURI":' + json.dumps(bulk_uri(bulk_base, attribute))
        return text + "}"
    if attribute.vr in BINARY_VRS:
        if attribute.data:
            text += ',"InlineBinary":"' + encode_base64(attribute.data) + '"'
        return text + "}"
    if attribute.val:
        text += ',"Value":' + _value(attribute.vr, attribute.val)
    return text + "}"


def entries(attributes: Iterable[Attribute], bulk_base: str | None) -> str:
    """``"TAG":{...}`` pairs joined by commas (no braces), in the order given."""
    return ",".join(f'"{a.tag:08X}":{element(a, bulk_base)}' for a in attributes)


def members(attributes: Attributes, bulk_base: str | None) -> str:
    """One attribute set as a JSON object, sorted by tag."""
    return "{" + entries((attributes[tag] for tag in sorted(attributes)), bulk_base) + "}"


def dataset_object(parts: Iterable[str]) -> str:
    """Join pre-rendered entry lists (some may be empty) into one JSON object."""
    return "{" + ",".join(part for part in parts if part) + "}"
