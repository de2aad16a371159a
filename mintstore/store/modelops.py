"""Pure operations on study models that versioning needs.

Applying an update delta (exclude markers remove, everything else replaces
or adds), shifting a delta's binary item ids above every id the study ever
used, cutting out the instances a change uploaded, and checking that every
bid a study refers to has a stored item.
"""

from __future__ import annotations

import copy

from mintstore.errors import InvalidInput
from mintstore.model import (
    Attribute,
    Attributes,
    Series,
    Study,
    ordered_walk,
    walk_attributes,
)

from .records import ItemTable


def shift_bids(study: Study, offset: int) -> None:
    """Renumber every bid (study, series, normalized, instance, items) by ``offset``."""
    if offset == 0:
        return
    for attribute in study.iter_attributes():
        if attribute.bid is not None:
            attribute.bid += offset


def renumber_bids(attributes: Attributes, first: int) -> list[tuple[int, int]]:
    """Renumber every bid of one instance's attributes from ``first`` on, in place.

    A multi-frame value keeps its consecutive run. Returns (old, new) for
    every item, in the new order, so the caller can move the table rows.
    """
    moves: list[tuple[int, int]] = []
    following = first
    for attribute in ordered_walk(attributes):
        if attribute.bid is None:
            continue
        old = attribute.bid
        count = len(attribute.bids())
        moves.extend((old + k, following + k) for k in range(count))
        attribute.bid = following
        following += count
    return moves


def max_bid(study: Study) -> int:
    """The highest bid the study refers to (-1 if none)."""
    return max(study.referenced_bids(), default=-1)


def _apply_attributes(target: Attributes, delta: Attributes) -> None:
    for tag, attribute in delta.items():
        if attribute.exclude:
            target.pop(tag, None)
        else:
            target[tag] = copy.deepcopy(attribute)


def apply_delta(base: Study, delta: Study, *, in_place: bool = False) -> Study:
    """``base`` with ``delta`` applied: a new study, or ``base`` itself when ``in_place``
    (for a caller that owns a fresh copy: no second copy of a large study per commit)."""
    result = base if in_place else copy.deepcopy(base)
    _apply_attributes(result.attributes, delta.attributes)
    for series_uid, series_delta in delta.series.items():
        if series_delta.exclude:
            result.series.pop(series_uid, None)
            continue
        series = result.series.get(series_uid)
        if series is None:
            series = result.series[series_uid] = Series(series_uid)
        _apply_attributes(series.attributes, series_delta.attributes)
        _apply_attributes(series.normalized_attributes, series_delta.normalized_attributes)
        for sop_uid, instance_delta in series_delta.instances.items():
            if instance_delta.exclude:
                series.instances.pop(sop_uid, None)
                continue
            instance = series.instances.get(sop_uid)
            if instance is None:
                fresh = copy.deepcopy(instance_delta)
                fresh.attributes = {t: a for t, a in fresh.attributes.items() if not a.exclude}
                series.instances[sop_uid] = fresh
                continue
            if instance_delta.transfer_syntax_uid:
                instance.transfer_syntax_uid = instance_delta.transfer_syntax_uid
            _apply_attributes(instance.attributes, instance_delta.attributes)
    for attribute in result.iter_attributes():
        attribute.exclude = False
    return result


def subset(study: Study, sop_uids: set[str]) -> Study:
    """The part of a study holding only the given instances (a change's payload).

    A view: its containers are new, its attributes and instances are those of
    ``study`` (shared, not copied). Every caller encodes or checks it and drops
    it; deep-copying 300 appended instances cost 0.06-0.08 s of the commit.
    Copy it before changing anything in it.
    """
    result = Study(study.study_instance_uid, study.type, study.version)
    result.attributes = dict(study.attributes)
    for series in study.sorted_series():
        chosen = {uid: inst for uid, inst in series.instances.items() if uid in sop_uids}
        if not chosen:
            continue
        part = Series(
            series.series_instance_uid,
            dict(series.attributes),
            dict(series.normalized_attributes),
            chosen,
        )
        result.series[part.series_instance_uid] = part
    return result


def check_items(study: Study, table: ItemTable) -> None:
    """Refuse a study referring to a binary item that is missing or of the wrong size."""
    for attribute in study.iter_attributes():
        _check_attribute(attribute, table)


def _check_attribute(attribute: Attribute, table: ItemTable) -> None:
    if attribute.bid is None:
        return
    total = 0
    for bid in attribute.bids():
        if bid not in table:
            raise InvalidInput(
                f"attribute {attribute.tag_hex} refers to binary item {bid}, which was not uploaded"
            )
        total += table[bid][1]
    if attribute.bsize is not None and attribute.bsize != total:
        raise InvalidInput(
            f"attribute {attribute.tag_hex}: bsize {attribute.bsize} but its binary items "
            f"hold {total} bytes"
        )


def referenced_table(study: Study, table: ItemTable) -> ItemTable:
    """The rows of ``table`` the study still refers to (removed items drop out)."""
    wanted = study.referenced_bids()
    return {bid: row for bid, row in table.items() if bid in wanted}


def instance_uids(study: Study) -> list[tuple[str, str]]:
    """(series UID, SOP UID) of every instance, in wire order."""
    return [
        (series.series_instance_uid, instance.sop_instance_uid)
        for series in study.sorted_series()
        for instance in series.sorted_instances()
    ]


def attribute_sets_bids(attributes: Attributes) -> set[int]:
    found: set[int] = set()
    for attribute in walk_attributes(attributes):
        found.update(attribute.bids())
    return found
