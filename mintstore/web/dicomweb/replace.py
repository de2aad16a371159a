"""The ``--duplicates replace`` policy of STOW-RS: a new version instead of a failure.

An instance sent under a stored SOP Instance UID with other content is
committed as an update of the study (``StudyStore.update``): the delta
gives the instance its new attribute set (what differs from the study and
series levels it lands in, plus ``exclude`` markers for what it no longer
has) and its binary items, which the engine renumbers above every bid ever
used. The old content stays in the study's history (``?version=N``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO, cast

from mintstore.file_range import FileRange, ItemContent
from mintstore.model import Attribute, Attributes, Instance, Series, Study
from mintstore.store import Actor, CommitResult

from .reads import StoreReads, effective_attributes


def _opener(content: ItemContent) -> Callable[[], BinaryIO]:
    if isinstance(content, FileRange):  # read from the upload's spool, which outlives us
        return lambda: cast(BinaryIO, content.open())
    data = bytes(content)
    return lambda: io.BytesIO(data)


def replace_instance(reads: StoreReads, part10: BinaryIO, actor: Actor) -> CommitResult:
    """Commit ``part10`` over the stored instance with the same SOP Instance UID."""
    converter = reads.store.config.converter
    dataset = converter.read_part10(part10)
    builder = converter.new_builder(None, 0)
    items = builder.add_dataset(dataset)
    single = builder.study
    (new_series,) = single.series.values()
    (new_instance,) = new_series.instances.values()
    full = effective_attributes(single, new_series, new_instance)
    study_uid, sop = single.study_instance_uid, new_instance.sop_instance_uid
    stored = reads.snapshot(study_uid).study
    old_series_uid, old_instance = _find(stored, sop)
    target = stored.series.get(new_series.series_instance_uid)
    shared: Attributes = dict(stored.attributes)
    if target is not None:
        shared.update(target.attributes)
        shared.update(target.normalized_attributes)
    own = {tag: a for tag, a in full.items() if shared.get(tag) != a}
    delta = Study(study_uid)
    target_uid = new_series.series_instance_uid
    if old_series_uid != target_uid:
        if len(stored.series[old_series_uid].instances) == 1:  # no empty series left behind
            delta.series[old_series_uid] = Series(old_series_uid, exclude=True)
        else:
            delta.series[old_series_uid] = Series(
                old_series_uid, instances={sop: Instance(sop, exclude=True)}
            )
        attributes = own
    else:
        gone = {
            tag: Attribute(tag, a.vr, exclude=True)
            for tag, a in old_instance.attributes.items()
            if tag not in own
        }
        attributes = {**own, **gone}
    replacement = Instance(sop, new_instance.transfer_syntax_uid, attributes)
    _series_delta(delta, target_uid).instances[sop] = replacement
    _demote_missing(delta, stored, target, set(full), sop)
    openers = {bid: _opener(content) for bid, content in items}
    return reads.store.update(study_uid, delta, openers, actor=actor)


def _series_delta(delta: Study, series_uid: str) -> Series:
    found = delta.series.get(series_uid)
    if found is None:
        found = delta.series[series_uid] = Series(series_uid)
    return found


def _demote_missing(
    delta: Study, stored: Study, target: Series | None, present: set[int], sop: str
) -> None:
    """A shared attribute the new instance lacks moves down to every other instance
    that inherited it (as ingest does), so the replacement does not inherit it."""
    levels: list[tuple[Attributes, Attributes, list[Series]]] = [
        (stored.attributes, delta.attributes, list(stored.series.values()))
    ]
    if target is not None:
        series_delta = _series_delta(delta, target.series_instance_uid)
        levels.append((target.attributes, series_delta.attributes, [target]))
        levels.append((target.normalized_attributes, series_delta.normalized_attributes, [target]))
    for shared, shared_delta, scope in levels:
        for tag in sorted(set(shared) - present):
            shared_delta[tag] = Attribute(tag, shared[tag].vr, exclude=True)
            for series in scope:
                for other_sop, other in series.instances.items():
                    if other_sop == sop or tag in other.attributes:
                        continue
                    instance_delta = _series_delta(delta, series.series_instance_uid).instances
                    entry = instance_delta.setdefault(other_sop, Instance(other_sop))
                    entry.attributes.setdefault(tag, shared[tag])


def _find(study: Study, sop: str) -> tuple[str, Instance]:
    for series in study.series.values():
        if sop in series.instances:
            return series.series_instance_uid, series.instances[sop]
    raise LookupError(sop)  # the caller only asks for an instance the engine found
