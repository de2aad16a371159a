"""Reading MINT XML metadata (1.1 and 1.2 forms, and via a dialect table the
pre-1.0 form of the RI samples) into the study model.

One walker serves every dialect: the dialects differ only in element names
and a few attribute spellings, not in structure. Input is lenient where the
spec says so (wrappers may be missing, ``exclude`` is anything but
false/0, unknown XML attributes are ignored so newer writers' extensions do
not break us) and strict everywhere else: an unknown MINT element, a
duplicate tag or UID, or a malformed number is an InvalidMetadata, never a
silently dropped value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from mintstore.errors import InvalidMetadata
from mintstore.formats.checks import MAX_SEQUENCE_DEPTH, PREAMBLE_SIZE, UINT32_MAX, check_study
from mintstore.formats.limits import Budget
from mintstore.formats.safe_xml import parse_untrusted
from mintstore.formats.wire import (
    decode_base64,
    parse_exclude,
    parse_flag,
    parse_fragments,
    parse_uint,
)
from mintstore.formats.xml_writer import MINT_NAMESPACE
from mintstore.model import (
    SOP_INSTANCE_UID_TAG,
    Attribute,
    Attributes,
    Encapsulation,
    Instance,
    Item,
    Series,
    Study,
)

_TAG = re.compile(r"[0-9a-fA-F]{8}\Z")


@dataclass(frozen=True)
class Dialect:
    """Element names of one MINT XML dialect."""

    name: str
    study: str
    attributes: str
    attr: str
    series_list: str
    series: str
    normalized: str
    instances: str
    instance: str
    item: str


MINT_1X = Dialect(
    name="MINT 1.x",
    study="study",
    attributes="attributes",
    attr="attr",
    series_list="seriesList",
    series="series",
    normalized="normalizedInstanceAttributes",
    instances="instances",
    instance="instance",
    item="item",
)

LEGACY = Dialect(
    name="pre-1.0 MINT",
    study="StudyMeta",
    attributes="Attributes",
    attr="Attr",
    series_list="SeriesList",
    series="Series",
    normalized="NormalizedInstanceAttributes",
    instances="Instances",
    instance="Instance",
    item="Item",
)


def decode_xml(data: bytes, *, max_size: int, budget: Budget | None = None) -> Study:
    """Parse MINT XML of either dialect (chosen by the root element)."""
    root = parse_untrusted(data, max_size=max_size, budget=budget)
    dialect = LEGACY if _local_name(root) == LEGACY.study else MINT_1X
    return read_study(root, dialect, budget)


def read_study(root: etree._Element, dialect: Dialect, budget: Budget | None = None) -> Study:
    """Build and check the study described by ``root``."""
    if _mint_name(root) != dialect.study:
        raise InvalidMetadata(f"root element is {root.tag!r}, not a {dialect.name} study")
    study = Study(
        study_instance_uid=_required(root, "studyInstanceUID"),
        type=root.get("type") or "DICOM",
        version=_optional_uint(root, "version", 2**63 - 1),
    )
    reader = _Reader(dialect, budget or Budget(None))
    for name, child in reader.children(root, {dialect.attributes, dialect.series_list}):
        if name == dialect.attributes:
            study.attributes = reader.attributes(child, "study", 0)
            continue
        for _, series_element in reader.children(child, {dialect.series}):
            series = reader.series(series_element)
            if series.series_instance_uid in study.series:
                raise InvalidMetadata(f"series {series.series_instance_uid!r} appears twice")
            study.series[series.series_instance_uid] = series
    check_study(study)
    return study


class _Reader:
    """The walker, parameterized by a dialect's element names."""

    def __init__(self, dialect: Dialect, budget: Budget) -> None:
        self.d = dialect
        self.budget = budget  # elements were charged while parsing; sets are checked here

    def children(
        self, element: etree._Element, allowed: set[str]
    ) -> list[tuple[str, etree._Element]]:
        """MINT child elements, each allowed at most once unless repeatable."""
        found: list[tuple[str, etree._Element]] = []
        for child in element:
            name = _mint_name(child)
            if name is None:
                continue  # another namespace: someone's extension, not ours to judge
            if name not in allowed:
                raise InvalidMetadata(f"unexpected <{name}> inside <{_local_name(element)}>")
            found.append((name, child))
        repeatable = {self.d.series, self.d.instance, self.d.item, self.d.attr}
        names = [name for name, _ in found if name not in repeatable]
        if len(names) != len(set(names)):
            raise InvalidMetadata(f"a wrapper element appears twice in <{_local_name(element)}>")
        return found

    def series(self, element: etree._Element) -> Series:
        uid = _required(element, "seriesInstanceUID")
        series = Series(series_instance_uid=uid, exclude=parse_exclude(element.get("exclude")))
        allowed = {self.d.attributes, self.d.normalized, self.d.instances}
        for name, child in self.children(element, allowed):
            if name == self.d.attributes:
                series.attributes = self.attributes(child, f"series {uid!r}", 0)
            elif name == self.d.normalized:
                series.normalized_attributes = self.attributes(child, f"series {uid!r}", 0)
            else:
                for _, instance_element in self.children(child, {self.d.instance}):
                    instance = self.instance(instance_element)
                    if instance.sop_instance_uid in series.instances:
                        raise InvalidMetadata(
                            f"series {uid!r}: instance {instance.sop_instance_uid!r} appears twice"
                        )
                    series.instances[instance.sop_instance_uid] = instance
        return series

    def instance(self, element: etree._Element) -> Instance:
        attributes: Attributes = {}
        for _, child in self.children(element, {self.d.attributes}):
            attributes = self.attributes(child, "instance", 0)
        sop_uid = element.get("sopInstanceUID")
        if sop_uid is None:  # early RI files name the instance only by its 00080018
            sop_attribute = attributes.get(SOP_INSTANCE_UID_TAG)
            sop_uid = sop_attribute.val if sop_attribute is not None else None
        if not sop_uid:
            raise InvalidMetadata("an instance has no sopInstanceUID")
        transfer_syntax = element.get("transferSyntaxUID") or element.get("xfer")
        preamble = _optional_base64(element, "preamble", f"instance {sop_uid!r}")
        if preamble is not None and len(preamble) != PREAMBLE_SIZE:
            raise InvalidMetadata(f"instance {sop_uid!r}: a preamble is {PREAMBLE_SIZE} bytes")
        return Instance(
            sop_instance_uid=sop_uid,
            transfer_syntax_uid=transfer_syntax,
            attributes=attributes,
            exclude=parse_exclude(element.get("exclude")),
            preamble=preamble,
        )

    def attributes(self, element: etree._Element, where: str, depth: int) -> Attributes:
        if depth > MAX_SEQUENCE_DEPTH:
            raise InvalidMetadata(f"{where}: sequences nested deeper than {MAX_SEQUENCE_DEPTH}")
        if self.budget.limits is not None and len(element) > self.budget.limits.max_set_size:
            self.budget.set_of(len(element), where)
        attributes: Attributes = {}
        for _, child in self.children(element, {self.d.attr}):
            attribute = self.attribute(child, where, depth)
            if attribute.tag in attributes:
                raise InvalidMetadata(f"{where}: attribute {attribute.tag:08x} appears twice")
            attributes[attribute.tag] = attribute
        return attributes

    def attribute(self, element: etree._Element, where: str, depth: int) -> Attribute:
        tag_text = _required(element, "tag")
        if not _TAG.match(tag_text):
            raise InvalidMetadata(f"{where}: tag {tag_text[:20]!r} is not 8 hex digits")
        at = f"{where}: attribute {tag_text}"
        vr = _required(element, "vr")
        bid = _optional_uint(element, "bid", UINT32_MAX)
        framecount = _optional_uint(element, "framecount", UINT32_MAX)
        items = self.items(element, at, depth)
        return Attribute(
            tag=int(tag_text, 16),
            vr=vr,
            val=_val(element, at),
            data=_optional_base64(element, "bytes", at),
            bid=bid,
            bsize=_optional_uint(element, "bsize", UINT32_MAX),
            framecount=None if framecount == 1 else framecount,
            items=items if items or vr == "SQ" else None,
            encapsulation=_encapsulation(element, at),
            exclude=parse_exclude(element.get("exclude")),
            undefined_length=parse_flag(element.get("undefinedLength")),
        )

    def items(self, element: etree._Element, at: str, depth: int) -> list[Item]:
        items = []
        for _, item_element in self.children(element, {self.d.item}):
            # 1.1 wraps an item's attributes in <attributes>; accept bare <attr> too.
            wrapped = self.children(item_element, {self.d.attributes, self.d.attr})
            attributes: Attributes = {}
            if any(name == self.d.attr for name, _ in wrapped):
                if len(wrapped) != sum(1 for name, _ in wrapped if name == self.d.attr):
                    raise InvalidMetadata(f"{at}: item mixes <attr> and <attributes>")
                attributes = self.attributes(item_element, at, depth + 1)
            elif wrapped:
                attributes = self.attributes(wrapped[0][1], at, depth + 1)
            items.append(Item(attributes, parse_flag(item_element.get("undefinedLength"))))
        return items


def _val(element: etree._Element, at: str) -> str | None:
    text = element.get("val")
    encoded = element.get("valBase64")
    if encoded is not None:
        if text:
            raise InvalidMetadata(f"{at}: both val and valBase64")
        try:
            return decode_base64(encoded, f"{at} valBase64").decode("utf-8") or None
        except UnicodeDecodeError:
            raise InvalidMetadata(f"{at}: valBase64 is not UTF-8") from None
    return text or None


def _encapsulation(element: etree._Element, at: str) -> Encapsulation | None:
    offset_table = element.get("offsetTable")
    fragments = element.get("fragments")
    if offset_table is None and fragments is None:
        return None
    return Encapsulation(
        offset_table=decode_base64(offset_table or "", f"{at} offsetTable"),
        frame_fragments=parse_fragments(fragments or "", f"{at} fragments"),
    )


def _optional_base64(element: etree._Element, name: str, at: str) -> bytes | None:
    text = element.get(name)
    return None if text is None else decode_base64(text, f"{at} {name}")


def _optional_uint(element: etree._Element, name: str, maximum: int) -> int | None:
    text = element.get(name)
    return None if text is None else parse_uint(text.strip(), name, maximum)


def _required(element: etree._Element, name: str) -> str:
    value = element.get(name)
    if not value:
        raise InvalidMetadata(f"<{_local_name(element)}> lacks the {name} attribute")
    return value


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _mint_name(element: etree._Element) -> str | None:
    """The local name of a MINT (or un-namespaced) element, else None."""
    if not isinstance(element.tag, str):
        return None
    qname = etree.QName(element)
    if qname.namespace not in (None, MINT_NAMESPACE):
        return None
    return qname.localname
