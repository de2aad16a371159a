"""One duplicate-instance policy for every write path.

An instance whose SOP Instance UID is already stored is either the same
instance sent again (identical attributes, binary item numbers aside, and
identical binary contents): a no-op success on every path; or a different
instance under a stored UID, which ``StoreConfig.duplicates`` decides:
``"reject"`` refuses it with a :class:`~mintstore.errors.DuplicateInstance`
naming the reason (the front-end shows it: a FAILED job, a 400, a STOW
FailedSOPSequence entry, a C-STORE failure status), ``"replace"`` commits the
new content in a new version (the old one stays in the study's history).

Part-10 instances are compared by the converter's builder as they are added
(:mod:`mintstore.store.ingest`); a MINT upload merged into a stored study is
compared here on the model, because the RI's DICOM2MINT sends the full study
but only the new instances' binary items: an instance whose items were not
re-sent is compared by its attributes alone.
"""

from __future__ import annotations

import copy

from mintstore.errors import DuplicateInstance
from mintstore.model import Attribute, Attributes, Instance, Series, Study

from .records import ItemTable


def find_instance(study: Study, sop_uid: str) -> tuple[Series, Instance] | None:
    for series in study.series.values():
        instance = series.instances.get(sop_uid)
        if instance is not None:
            return series, instance
    return None


def _effective(study: Study, series: Series, instance: Instance) -> Attributes:
    """Every level overlaid: what the instance holds, however it was normalized."""
    merged: Attributes = {}
    for level in (
        study.attributes,
        series.attributes,
        series.normalized_attributes,
        instance.attributes,
    ):
        merged.update(level)
    return merged


def _without_bids(attributes: Attributes) -> tuple[Attributes, list[int]]:
    """A copy with binary item numbers blanked, and the numbers in a stable order."""
    shape = copy.deepcopy(attributes)
    bids: list[int] = []

    def walk(level: Attributes) -> None:
        for tag in sorted(level):
            attribute: Attribute = level[tag]
            bids.extend(attribute.bids())
            attribute.bid = None
            attribute.exclude = False
            for item in attribute.items or ():
                walk(item.attributes)

    walk(shape)
    return shape, bids


def difference(
    stored: Study,
    stored_table: ItemTable,
    incoming: Study,
    incoming_table: ItemTable,
    sop_uid: str,
) -> str | None:
    """Why ``incoming``'s instance ``sop_uid`` is not the stored one (None: the same).

    Binary contents are compared by digest when the upload carries every item
    the incoming instance refers to; without them only attributes can differ.
    """
    old = find_instance(stored, sop_uid)
    new = find_instance(incoming, sop_uid)
    if old is None or new is None:
        return None
    old_shape, old_bids = _without_bids(_effective(stored, *old))
    new_shape, new_bids = _without_bids(_effective(incoming, *new))
    if old_shape != new_shape:
        tags = sorted(
            tag
            for tag in old_shape.keys() | new_shape.keys()
            if old_shape.get(tag) != new_shape.get(tag)
        )
        named = ", ".join(f"({tag >> 16:04x},{tag & 0xFFFF:04x})" for tag in tags[:5])
        more = f" and {len(tags) - 5} more" if len(tags) > 5 else ""
        return f"different content: attribute(s) {named}{more} differ from the stored instance"
    old_syntax, new_syntax = old[1].transfer_syntax_uid, new[1].transfer_syntax_uid
    if old_syntax and new_syntax and old_syntax != new_syntax:
        return f"different content: transfer syntax {new_syntax}, stored {old_syntax}"
    if all(bid in incoming_table for bid in new_bids):
        for old_bid, new_bid in zip(old_bids, new_bids, strict=True):
            old_row = stored_table.get(old_bid)
            if old_row is None or old_row[0] != incoming_table[new_bid][0]:
                return "different content: its binary items differ from the stored instance's"
    return None


def refuse(sop_uid: str, reason: str) -> DuplicateInstance:
    """The error every write path raises for a changed instance under ``reject``."""
    return DuplicateInstance(sop_uid, identical_metadata=False, items=[], reason=reason)


def without_instance(study: Study, sop_uid: str) -> Study | None:
    """A copy of ``study`` lacking one instance (None when nothing is left)."""
    result = copy.deepcopy(study)
    for series_uid, series in list(result.series.items()):
        if series.instances.pop(sop_uid, None) is not None and not series.instances:
            del result.series[series_uid]
    return result if result.instance_count else None
