"""Placement and normalization of one new instance into a study, losslessly.

Invariants kept after every instance (so reconstruction is a plain overlay of
study, series, normalized and instance attributes, later levels winning):

* Study and series attributes hold the values of the first instance that had
  them. A later instance with a different value keeps its own as an instance
  attribute (override). A later instance *lacking* one of them would inherit a
  value it never had, so that attribute is pushed down: copied into every
  existing instance that inherited it (or into a series' normalized set when
  all its instances did) and removed from the level. Which instance came first
  decides what the study and series levels hold; the reconstruction of every
  instance does not depend on the order.
* Normalized attributes (series with more than one instance) are exactly the
  instance attributes that every instance has, fully equal, excluding the VRs in
  ``NOT_NORMALIZED_VRS`` (the RI algorithm). Appending can only shrink that
  set, so it is maintained incrementally: an attribute the new instance does not
  share is pushed back down into every existing instance. So the normalized
  set stays maximal: no attribute equal in every instance of a series is left
  at instance level.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Literal

from mintstore.dictionary import TypeDictionary
from mintstore.model import (
    NOT_NORMALIZED_VRS,
    Attributes,
    Instance,
    Series,
    Study,
    instance_attributes,
)

Level = Literal["study", "series", "instance"]


def split_by_placement(
    attributes: Attributes, dictionary: TypeDictionary
) -> dict[Level, Attributes]:
    """The attributes of one instance grouped by where the dictionary puts them."""
    groups: dict[Level, Attributes] = {"study": {}, "series": {}, "instance": {}}
    for tag, attribute in attributes.items():
        groups[dictionary.placement(tag)][tag] = attribute
    return groups


def _inheritors(series: Series, tag: int) -> list[Instance]:
    """Instances of ``series`` whose value of ``tag`` comes from a shared level."""
    if tag in series.normalized_attributes:
        return []
    return [i for i in series.instances.values() if tag not in i.attributes]


def merge_shared_level(
    level: Attributes,
    incoming: Attributes,
    own: Attributes,
    series_in_scope: list[Series],
    first: bool,
) -> None:
    """Merge one instance's study- (or series-) placed attributes into ``level``.

    ``own`` receives the instance's overrides; ``series_in_scope`` are the
    series whose instances inherit from ``level`` (all series for the study,
    one series for a series level).
    """
    if first:
        level.update(incoming)
        return
    for tag, attribute in incoming.items():
        if level.get(tag) != attribute:
            own[tag] = attribute
    for tag in [t for t in level if t not in incoming]:
        shared = level.pop(tag)
        for series in series_in_scope:
            inheritors = _inheritors(series, tag)
            if (
                len(series.instances) > 1
                and len(inheritors) == len(series.instances)
                and shared.vr not in NOT_NORMALIZED_VRS
            ):
                # every instance of the series has it: the RI algorithm would hoist it
                series.normalized_attributes[tag] = deepcopy(shared)
                continue
            for instance in inheritors:
                instance.attributes[tag] = deepcopy(shared)


def merge_instance(series: Series, instance: Instance) -> None:
    """Add ``instance`` (holding all its own attributes) to ``series``, normalizing."""
    existing = list(series.instances.values())
    normalized = series.normalized_attributes
    own = instance.attributes
    if len(existing) == 1 and not normalized:
        first = existing[0].attributes
        for tag in [t for t, a in first.items() if a.vr not in NOT_NORMALIZED_VRS]:
            if own.get(tag) == first[tag]:
                normalized[tag] = first.pop(tag)
                del own[tag]
    elif existing:
        for tag in list(normalized):
            if own.get(tag) == normalized[tag]:
                del own[tag]
                continue
            shared = normalized.pop(tag)
            for other in existing:
                other.attributes.setdefault(tag, deepcopy(shared))
    series.instances[instance.sop_instance_uid] = instance


def effective_attributes(study: Study, series: Series, instance: Instance) -> Attributes:
    """The instance's complete attribute set: every level overlaid in order."""
    return instance_attributes(study, series, instance)
