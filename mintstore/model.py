"""The normalized MINT study: what conversion produces, formats serialize and
the storage engine versions.

The shapes follow MINT-SPEC section 2: a study holds study attributes and a
series list; a series holds its own attributes, the *normalized instance
attributes* shared by all its instances, and the instances; an instance holds
its SOP Instance UID, transfer syntax and its own attributes. Bulk values are
not held here: attributes refer to *binary items* by study-scoped integer id
(``bid``), and the items themselves travel separately (as streams or stored
blobs), so a study model stays small however large the study is.

The same classes express an update *delta*: ``exclude`` marks a study-level
attribute, series, instance or attribute for removal.

Attribute maps are plain ``dict[int, Attribute]`` keyed by tag; order is not
meaningful in memory and every serializer writes attributes sorted by
unsigned tag, series by Series Instance UID and instances by SOP Instance UID
(:func:`sorted_attributes`, :meth:`Study.sorted_series`, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

Attributes = dict[int, "Attribute"]
"""An attribute set keyed by tag (group << 16 | element)."""

#: Value representations whose values are bulk binary (never text).
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})

#: Attributes with these VRs are never hoisted into the normalized set
#: (RI algorithm: binary, sequences, and floats).
NOT_NORMALIZED_VRS = BINARY_VRS | {"SQ", "FL", "FD"}

PIXEL_DATA_TAG = 0x7FE00010
STUDY_INSTANCE_UID_TAG = 0x0020000D
SERIES_INSTANCE_UID_TAG = 0x0020000E
SOP_INSTANCE_UID_TAG = 0x00080018
TRANSFER_SYNTAX_UID_TAG = 0x00020010


@dataclass
class Encapsulation:
    """What is needed to rebuild encapsulated pixel data fragment for fragment.

    The binary items of an encapsulated PixelData hold each frame's fragment
    payloads concatenated; ``frame_fragments[i]`` lists the lengths of the
    fragments that make up frame ``i`` (so item ``bid + i`` can be cut back
    into them), and ``offset_table`` is the Basic Offset Table item's value
    exactly as it was (often empty).
    """

    offset_table: bytes = b""
    frame_fragments: list[list[int]] = field(default_factory=list)


@dataclass
class Item:
    """One item of a sequence attribute: its own attribute set.

    ``undefined_length`` records how the item was encoded (with an item
    delimiter rather than a length); it only matters for rebuilding the
    original bytes exactly.
    """

    attributes: Attributes = field(default_factory=dict)
    undefined_length: bool = False


@dataclass
class Attribute:
    """One DICOM attribute in MINT form.

    Exactly one of the value forms is used:

    * ``val``: text; multiple values joined with backslash. ``None`` means an
      empty value (serialized by omitting ``val``).
    * ``data``: a small binary value stored inline (the wire name is
      ``bytes``). FL/FD carry both ``val`` (for reading) and ``data`` (raw
      little-endian, so that no precision is lost).
    * ``bid``/``bsize``: a reference to binary item ``bid`` of ``bsize``
      bytes; PixelData uses ``framecount`` consecutive items from ``bid``
      (``framecount`` is ``None`` for one frame) and ``bsize`` is then the
      total over all frames.
    * ``items``: the items of a sequence (VR SQ); ``None`` for non-sequences.

    ``exclude`` is only meaningful in update deltas. ``undefined_length``
    records that a sequence was encoded with a delimiter rather than a length
    (only matters for rebuilding the original bytes exactly).
    """

    tag: int
    vr: str
    val: str | None = None
    data: bytes | None = None
    bid: int | None = None
    bsize: int | None = None
    framecount: int | None = None
    items: list[Item] | None = None
    encapsulation: Encapsulation | None = None
    exclude: bool = False
    undefined_length: bool = False

    @property
    def tag_hex(self) -> str:
        """The tag as the wire formats write it: 8 lowercase hex digits."""
        return f"{self.tag:08x}"

    def frame_count(self) -> int:
        """How many binary items this attribute refers to (0 if none)."""
        if self.bid is None:
            return 0
        return self.framecount or 1

    def bids(self) -> range:
        """The binary item ids this attribute refers to."""
        if self.bid is None:
            return range(0)
        return range(self.bid, self.bid + self.frame_count())


@dataclass
class Instance:
    """One SOP instance: the attributes that are not shared with its series.

    ``preamble`` keeps the 128-byte Part-10 preamble when it was not all
    zeros (some files carry a TIFF header there); ``None`` means zeros.
    """

    sop_instance_uid: str
    transfer_syntax_uid: str | None = None
    attributes: Attributes = field(default_factory=dict)
    exclude: bool = False
    preamble: bytes | None = None


@dataclass
class Series:
    """One series: its attributes, the normalized instance attributes, its instances."""

    series_instance_uid: str
    attributes: Attributes = field(default_factory=dict)
    normalized_attributes: Attributes = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)
    exclude: bool = False

    def sorted_instances(self) -> list[Instance]:
        """Instances in wire order (by SOP Instance UID string)."""
        return [self.instances[uid] for uid in sorted(self.instances)]


@dataclass
class Study:
    """A whole study of one type (usually ``DICOM``), or an update delta."""

    study_instance_uid: str
    type: str = "DICOM"
    version: int | None = None
    attributes: Attributes = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)

    @property
    def instance_count(self) -> int:
        """Number of instances over all series."""
        return sum(len(series.instances) for series in self.series.values())

    def sorted_series(self) -> list[Series]:
        """Series in wire order (by Series Instance UID string)."""
        return [self.series[uid] for uid in sorted(self.series)]

    def iter_attribute_sets(self) -> Iterator[Attributes]:
        """Every top-level attribute set: study, series, normalized, instances."""
        yield self.attributes
        for series in self.series.values():
            yield series.attributes
            yield series.normalized_attributes
            for instance in series.instances.values():
                yield instance.attributes

    def iter_attributes(self) -> Iterator[Attribute]:
        """Every attribute, sequence items included, depth first."""
        for attributes in self.iter_attribute_sets():
            yield from walk_attributes(attributes)

    def referenced_bids(self) -> set[int]:
        """Every binary item id some attribute of the study refers to."""
        found: set[int] = set()
        for attribute in self.iter_attributes():
            found.update(attribute.bids())
        return found


def walk_attributes(attributes: Attributes) -> Iterator[Attribute]:
    """Yield the attributes of a set and, recursively, of its sequence items."""
    for attribute in attributes.values():
        yield attribute
        for item in attribute.items or ():
            yield from walk_attributes(item.attributes)


def ordered_walk(attributes: Attributes) -> list[Attribute]:
    """Attributes in tag order, each followed by its sequence items' (depth first).

    A stable order of every attribute and nested attribute, so two copies of
    one instance list their binary items in the same order.
    """
    out: list[Attribute] = []
    for tag in sorted(attributes):
        attribute = attributes[tag]
        out.append(attribute)
        for item in attribute.items or ():
            out.extend(ordered_walk(item.attributes))
    return out


def instance_attributes(study: Study, series: Series, instance: Instance) -> Attributes:
    """One instance's complete attribute set: every level overlaid in order (study first)."""
    merged: Attributes = {}
    merged.update(study.attributes)
    merged.update(series.attributes)
    merged.update(series.normalized_attributes)
    merged.update(instance.attributes)
    return merged


def sorted_attributes(attributes: Attributes) -> list[Attribute]:
    """Attributes in wire order (by unsigned tag)."""
    return [attributes[tag] for tag in sorted(attributes)]
