"""A pydicom dataset -> one flat MINT attribute set plus its new binary items.

Works on pydicom's *raw* elements (undecoded bytes as read from the file), so
every value is converted from exactly the bytes that were stored; VRs missing
from implicit-VR data are resolved the way pydicom does (public dictionary,
private dictionary by creator, ambiguous-VR rules). Binary items get
consecutive provisional bids from ``first_bid``; the builder decides whether to
keep them. Nothing is placed (study/series/instance) here.
"""

from __future__ import annotations

import struct
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast, overload

from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import BaseTag
from pydicom.uid import UID

from mintstore.convert import pixeldata
from mintstore.convert.reading import value_file
from mintstore.convert.values import (
    CHARSET_VRS,
    DEFAULT_ENCODINGS,
    TEXT_VRS,
    is_number_vr,
    number_attribute,
    text_attribute,
)
from mintstore.errors import InvalidDicom
from mintstore.file_range import FileRange, ItemContent
from mintstore.model import (
    BINARY_VRS,
    PIXEL_DATA_TAG,
    Attribute,
    Attributes,
    Encapsulation,
    Item,
)

INLINE_LIMIT = 256
"""Binary values shorter than this are stored inline (``data``), longer ones as items."""

SPECIFIC_CHARACTER_SET_TAG = 0x00080005
EXTENDED_OFFSET_TABLE_TAG = 0x7FE00001
EXTENDED_OFFSET_TABLE_LENGTHS_TAG = 0x7FE00002
UNDEFINED_LENGTH = 0xFFFFFFFF
# What pydicom leaves unresolved is written as the standard's default reading.
_AMBIGUOUS_DEFAULTS = {"OB or OW": "OW", "US or SS": "US", "US or OW": "OW", "US or SS or OW": "OW"}

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"


#: Raw values longer than this are converted every time: hashing them as a memo
#: key would cost more than converting them (and binary ones become items).
MEMO_VALUE_LIMIT = 16 * 1024
#: Conversions, and bytes of raw values, a memo keeps before it starts afresh:
#: a series repeats a few hundred elements, and a builder lives as long as an
#: upload, so its memory stays small whatever the input.
MEMO_CAPACITY = 8192
MEMO_BYTES = 4 * 1024**2

MemoKey = tuple[int, str | None, int, bytes, bool | None, bool | None, tuple[str, ...]]


class ConversionMemo:
    """Attributes already converted from identical raw elements, for reuse.

    The instances of one series repeat most elements byte for byte (patient,
    study, equipment, geometry, even whole sequences), and converting a raw
    element is a pure function of its tag, VR, length, bytes, encoding and
    inherited character set, as long as nothing from the surrounding data
    set was consulted (an implicit VR resolved from a private creator or an
    ambiguous-VR rule) and no binary item was made. Only such conversions are
    remembered; each hit hands out a fresh copy, so no two instances ever
    share a mutable attribute (the store edits attributes in place).
    """

    def __init__(self, capacity: int = MEMO_CAPACITY, max_bytes: int = MEMO_BYTES) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._bytes = 0
        self._attributes: dict[MemoKey, Attribute] = {}

    def get(self, key: MemoKey) -> Attribute | None:
        """A fresh copy of the attribute converted from ``key``, or None."""
        found = self._attributes.get(key)
        return None if found is None else copy_attribute(found)

    def remember(self, key: MemoKey, attribute: Attribute) -> None:
        """Keep ``attribute`` (the caller must not hand it out afterwards)."""
        size = len(key[3])
        if len(self._attributes) >= self._capacity or self._bytes + size > self._max_bytes:
            self._attributes.clear()
            self._bytes = 0
        self._attributes[key] = attribute
        self._bytes += size

    def __len__(self) -> int:
        return len(self._attributes)


def copy_attribute(attribute: Attribute) -> Attribute:
    """A copy sharing only immutable values (text, bytes); sequence items copied too.

    Copies the instance dictionary instead of calling the constructor: this
    runs for most elements of every instance of a series, and eleven keyword
    arguments cost half as much again. Memo entries never hold an
    Encapsulation (it comes with binary items), the one mutable field left shared.
    """
    copied: Attribute = object.__new__(Attribute)
    copied.__dict__.update(attribute.__dict__)
    if attribute.items is not None:
        copied.items = [_copy_item(item) for item in attribute.items]
    return copied


def _copy_item(item: Item) -> Item:
    copied = {tag: copy_attribute(a) for tag, a in item.attributes.items()}
    return Item(copied, undefined_length=item.undefined_length)


@dataclass
class Extracted:
    """Everything one dataset contributes: attributes, items, transfer syntax."""

    attributes: Attributes
    items: list[tuple[int, ItemContent]] = field(default_factory=list)
    transfer_syntax_uid: str = EXPLICIT_LE
    preamble: bytes | None = None


def transfer_syntax_of(ds: Dataset) -> str:
    """The transfer syntax the dataset was encoded with (meta or detected)."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and 0x00020010 in meta:
        uid = meta.get_item(0x00020010).value
        text = uid.decode("latin-1") if isinstance(uid, bytes) else str(uid)
        text = text.rstrip("\x00 ")
        if _is_known_syntax(text):
            return text
    # no (usable) transfer syntax: record the encoding pydicom actually read
    implicit, little = ds.original_encoding
    if implicit:
        return IMPLICIT_LE
    return EXPLICIT_LE if little in (True, None) else EXPLICIT_BE


def _is_known_syntax(uid: str) -> bool:
    try:
        return bool(UID(uid).is_transfer_syntax)
    except ValueError:  # private or not a UID pydicom knows
        return False


def charset_of(ds: Dataset, inherited: tuple[str, ...]) -> tuple[str, ...]:
    """The Python codecs for (0008,0005) of ``ds``, else the inherited ones."""
    if SPECIFIC_CHARACTER_SET_TAG not in ds._dict:
        return inherited
    elem = ds.get_item(SPECIFIC_CHARACTER_SET_TAG)
    value = elem.value
    if isinstance(value, bytes):
        names: list[str] = [v.strip(" \x00") for v in value.decode("latin-1").split("\\")]
    elif isinstance(value, str):
        names = [value]
    else:
        names = [str(v) for v in value or []]
    if not any(names):
        return DEFAULT_ENCODINGS
    return tuple(convert_encodings(names))


class _Extractor:
    def __init__(
        self,
        first_bid: int,
        value_file: tuple[int, int] | None,
        memo: ConversionMemo | None = None,
    ) -> None:
        self.next_bid = first_bid
        self.value_file = value_file
        self.items: list[tuple[int, ItemContent]] = []
        self.memo = memo
        # VRs resolved from the surrounding data set so far: a conversion that
        # needed one is not a function of its raw element alone (no memo).
        self.contextual = 0

    def new_item(self, content: ItemContent) -> int:
        bid = self.next_bid
        self.items.append((bid, content))
        self.next_bid += 1
        return bid

    def dataset(self, ds: Dataset, encodings: tuple[str, ...], top: bool) -> Attributes:
        encodings = charset_of(ds, encodings)
        little = ds.original_encoding[1] is not False
        attributes: Attributes = {}
        for tag, elem in _in_tag_order(ds._dict):
            if (
                isinstance(elem, RawDataElement)
                and elem.value is not None
                and not (top and tag == PIXEL_DATA_TAG)
            ):  # the common case, read from the file: no pydicom layer needed
                attributes[tag] = self.raw_element(ds, tag, elem, encodings)
                continue
            if not _is_deferred(elem):
                elem = ds.get_item(tag)  # converts an empty raw value, as it always did
            elif isinstance(elem, RawDataElement):
                in_file = self.deferred(ds, tag, elem, attributes, top)
                if isinstance(in_file, Attribute):
                    attributes[tag] = in_file
                    continue
                elem = in_file
            if isinstance(elem, DataElement) and elem.VR != "SQ":
                elem = encoded_element(elem, little, encodings)
            if top and tag == PIXEL_DATA_TAG and isinstance(elem, RawDataElement):
                attributes[tag] = self.pixel_data(ds, elem, attributes)
            elif isinstance(elem, RawDataElement) and elem.value is not None:
                # encoded from a decoded element (file meta pydicom decoded, a UID
                # the caller looked up): as repetitive as the elements read raw
                attributes[tag] = self.raw_element(ds, tag, elem, encodings)
            else:
                attributes[tag] = self.element(ds, tag, elem, encodings)
        return attributes

    def deferred(
        self, ds: Dataset, tag: int, elem: RawDataElement, attributes: Attributes, top: bool
    ) -> Attribute | DataElement | RawDataElement:
        """A value left in the file: a binary one becomes items of file ranges
        (never read here), any other is read now and put back in ``ds``."""
        if self.value_file is None:
            return ds.get_item(tag)  # pydicom reads it from the dataset's own file
        fd, base = self.value_file
        where = FileRange(fd, base + elem.value_tell, elem.length)
        vr = _vr_from_header(elem)
        if tag == PIXEL_DATA_TAG and top and vr in ("OB", "OW"):
            return self.native_pixel_data(vr, where, attributes)
        if vr in BINARY_VRS and tag != PIXEL_DATA_TAG:
            return Attribute(tag, vr, bid=self.new_item(where), bsize=where.length)
        loaded = elem._replace(value=bytes(where))
        ds._dict[BaseTag(tag)] = loaded
        return loaded

    def native_pixel_data(self, vr: str, where: FileRange, attributes: Attributes) -> Attribute:
        """Top-level native PixelData left in the file: one range item per frame."""
        frames = pixeldata.split_native_range(where, frame_geometry(attributes))
        return self.frame_items(vr, frames, None)

    def frame_items(
        self, vr: str, frames: Sequence[ItemContent], layout: Encapsulation | None
    ) -> Attribute:
        """PixelData as one new item per frame (consecutive bids)."""
        first = self.new_item(frames[0])
        for frame in frames[1:]:
            self.new_item(frame)
        return Attribute(
            PIXEL_DATA_TAG,
            vr,
            bid=first,
            bsize=sum(len(frame) for frame in frames),
            framecount=len(frames) if len(frames) > 1 else None,
            encapsulation=layout,
        )

    def raw_element(
        self, ds: Dataset, tag: int, elem: RawDataElement, encodings: tuple[str, ...]
    ) -> Attribute:
        """:meth:`element`, or a copy of what an identical raw element became."""
        value = elem.value
        memo = self.memo
        if memo is None or type(value) is not bytes or len(value) > MEMO_VALUE_LIMIT:
            return self.element(ds, tag, elem, encodings)
        key: MemoKey = (
            tag,
            elem.VR,
            elem.length,
            value,
            elem.is_implicit_VR,
            elem.is_little_endian,
            encodings,
        )
        found = memo.get(key)
        if found is not None:
            return found
        bids, contextual = self.next_bid, self.contextual
        attribute = self.element(ds, tag, elem, encodings)
        if self.next_bid == bids and self.contextual == contextual:
            memo.remember(key, copy_attribute(attribute))
        return attribute

    def resolve_vr(self, ds: Dataset, elem: RawDataElement) -> str:
        """:func:`resolve_vr`, counting the resolutions that looked beyond ``elem``."""
        vr = _vr_without_context(elem)
        if vr is not None:
            return vr
        self.contextual += 1
        return resolve_vr(ds, elem)

    def element(
        self,
        ds: Dataset,
        tag: int,
        elem: DataElement | RawDataElement,
        encodings: tuple[str, ...],
    ) -> Attribute:
        if not isinstance(elem, RawDataElement) or elem.VR == "SQ":
            return self.sequence_or_converted(ds, tag, elem, encodings)
        vr = self.resolve_vr(ds, elem)
        if vr == "SQ":
            return self.sequence_or_converted(ds, tag, ds[tag], encodings)
        raw = raw_value(elem)
        if vr in TEXT_VRS:
            return text_attribute(tag, vr, raw, encodings)
        if is_number_vr(vr):
            return number_attribute(tag, vr, raw, elem.is_little_endian)
        if vr in BINARY_VRS:
            return self.binary(tag, vr, raw)
        raise InvalidDicom(f"element {tag:08x} has unsupported VR {vr!r}")

    def binary(self, tag: int, vr: str, raw: bytes) -> Attribute:
        if not raw:
            return Attribute(tag, vr)
        if len(raw) < INLINE_LIMIT:
            return Attribute(tag, vr, data=raw)
        return Attribute(tag, vr, bid=self.new_item(raw), bsize=len(raw))

    def sequence_or_converted(
        self,
        ds: Dataset,
        tag: int,
        elem: DataElement | RawDataElement,
        encodings: tuple[str, ...],
    ) -> Attribute:
        if isinstance(elem, RawDataElement):
            elem = ds[tag]
        if elem.VR != "SQ":
            return self.element(ds, tag, encoded_element(elem, True, encodings), encodings)
        items = [
            Item(
                self.dataset(item, encodings, top=False),
                undefined_length=bool(getattr(item, "is_undefined_length_sequence_item", False)),
            )
            for item in elem.value
        ]
        return Attribute(tag, "SQ", items=items, undefined_length=bool(elem.is_undefined_length))

    def pixel_data(self, ds: Dataset, elem: RawDataElement, attributes: Attributes) -> Attribute:
        vr = self.resolve_vr(ds, elem)
        if elem.length == UNDEFINED_LENGTH:
            raw = elem.value or b""
            split = pixeldata.split_encapsulated(
                raw, frame_count(attributes), self.extended_offsets(attributes)
            )
            if split is None:
                bid = self.new_item(raw)
                return Attribute(PIXEL_DATA_TAG, vr, bid=bid, bsize=len(raw))
            frames: list[bytes] | list[memoryview] = split[0]
            layout = split[1]
        else:
            native = raw_value(elem, copy=False)
            if not native:
                return Attribute(PIXEL_DATA_TAG, vr)
            # a memoryview (a large value read without copying) splits the same way
            frames = pixeldata.split_native(cast(bytes, native), frame_geometry(attributes))
            layout = None
        return self.frame_items(vr, frames, layout)

    def extended_offsets(self, attributes: Attributes) -> tuple[bytes, bytes] | None:
        """The Extended Offset Table and its lengths, inline or from this dataset's items."""
        values = []
        for tag in (EXTENDED_OFFSET_TABLE_TAG, EXTENDED_OFFSET_TABLE_LENGTHS_TAG):
            attribute = attributes.get(tag)
            if attribute is None:
                return None
            if attribute.data is not None:
                values.append(attribute.data)
            else:
                found = [bytes(c) for bid, c in self.items if bid == attribute.bid]
                if not found:
                    return None
                values.append(found[0])
        return values[0], values[1]


def _in_tag_order(
    elements: MutableMapping[BaseTag, DataElement | RawDataElement],
) -> list[tuple[int, DataElement | RawDataElement]]:
    """The elements by ascending tag, with plain int tags.

    Plain int keys, as a decoded document has: pydicom's BaseTag compares in
    Python, and every later walk of the study (checks and sorting at each
    commit's encode, for the study's whole life in this process) would pay
    that per attribute. Files are almost always in tag order already;
    checking that on ints costs far less than sorting the BaseTags.
    """
    pairs = [(int(tag), elem) for tag, elem in elements.items()]
    tags = [tag for tag, _ in pairs]
    if tags != sorted(tags):
        pairs.sort(key=lambda pair: pair[0])
    return pairs


def _is_deferred(elem: DataElement | RawDataElement) -> bool:
    """A raw element whose value pydicom left in the file (``defer_size``)."""
    return (
        isinstance(elem, RawDataElement)
        and elem.value is None
        and elem.length not in (0, UNDEFINED_LENGTH)
    )


def _vr_from_header(elem: RawDataElement) -> str | None:
    """The VR without reading the value: explicit, or the public dictionary's.

    None when it depends on other values (ambiguous VRs other than PixelData's,
    whose defined-length implicit-VR reading is always OW) or is unknown.
    """
    if elem.VR and len(elem.VR) == 2:
        return str(elem.VR)
    if elem.tag == PIXEL_DATA_TAG:
        return "OW"
    if elem.tag >> 16 & 1 == 0:
        try:
            vr = dictionary_VR(elem.tag)
        except KeyError:
            return None
        return str(vr) if vr and len(vr) == 2 else None
    return None


_LONG_HEADER_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)


def _quick_encoding(
    elem: DataElement, little_endian: bool, encodings: tuple[str, ...]
) -> bytes | None:
    """The common simple cases (file meta above all) without pydicom's writer; None otherwise."""
    value, vr = elem.value, elem.VR
    if isinstance(value, str) and vr in TEXT_VRS and vr not in CHARSET_VRS:
        try:
            encoded = value.encode("ascii")
        except UnicodeEncodeError:
            return None
        return encoded + (b"\x00" if vr == "UI" else b" ") * (len(encoded) % 2)
    if isinstance(value, bytes) and vr in BINARY_VRS:
        return value + b"\x00" * (len(value) % 2)
    if type(value) is int and vr in ("US", "UL"):
        code = "H" if vr == "US" else "I"
        return struct.pack(("<" if little_endian else ">") + code, value)
    return None


def encoded_element(
    elem: DataElement, little_endian: bool, encodings: tuple[str, ...]
) -> RawDataElement:
    """A decoded element (built or edited in memory) encoded back to raw bytes.

    pydicom's own element writer does the encoding (explicit VR, the
    dataset's byte order and character set), so values come out exactly as
    pydicom would have written them to a file.
    """
    if elem.VR and " or " in elem.VR:
        elem = DataElement(elem.tag, _AMBIGUOUS_DEFAULTS.get(elem.VR, "UN"), elem.value)
    quick = _quick_encoding(elem, little_endian, encodings)
    if quick is not None:
        return RawDataElement(elem.tag, elem.VR, len(quick), quick, 0, False, little_endian)
    buffer = DicomBytesIO()
    buffer.is_little_endian = little_endian
    buffer.is_implicit_VR = False
    try:
        write_data_element(buffer, elem, list(encodings))
    except Exception as exc:
        raise InvalidDicom(f"element {elem.tag:08x} cannot be encoded: {exc}") from exc
    data = buffer.getvalue()
    vr = data[4:6].decode("latin-1")
    order = "<" if little_endian else ">"
    if vr in _LONG_HEADER_VRS:
        (length,) = struct.unpack(f"{order}I", data[8:12])
        value = data[12:-8] if length == UNDEFINED_LENGTH else data[12:]
    else:
        value = data[8:]
        length = len(value)
    return RawDataElement(elem.tag, vr, length, value, 0, False, little_endian)


@overload
def raw_value(elem: RawDataElement) -> bytes: ...
@overload
def raw_value(elem: RawDataElement, *, copy: Literal[False]) -> bytes | memoryview: ...
def raw_value(elem: RawDataElement, *, copy: bool = True) -> bytes | memoryview:
    """The element's bytes, refusing values shorter than their declared length.

    ``copy=False`` keeps a memoryview (a large PixelData read without copying)
    as it is, for a caller that only slices it into items.
    """
    value = elem.value or b""
    if elem.length != UNDEFINED_LENGTH and len(value) != elem.length:
        raise InvalidDicom(
            f"element ({elem.tag >> 16:04X},{elem.tag & 0xFFFF:04X}) is truncated: "
            f"{len(value)} of {elem.length} bytes"
        )
    if not copy and isinstance(value, memoryview):
        return value
    return bytes(value)


def _vr_without_context(elem: RawDataElement) -> str | None:
    """The VR the element states, or the public dictionary's unambiguous one; else None."""
    vr = elem.VR
    if vr and len(vr) == 2:
        return str(vr)
    if not vr and elem.tag >> 16 & 1 == 0:
        try:
            vr = dictionary_VR(elem.tag)
        except KeyError:
            vr = None
        if vr and len(vr) == 2:
            return str(vr)
    return None


def resolve_vr(ds: Dataset, elem: RawDataElement) -> str:
    """The VR of a raw element, as pydicom would decide it."""
    vr = _vr_without_context(elem)
    if vr is not None:
        return vr
    try:
        vr = ds[elem.tag].VR
    except Exception as exc:
        raise InvalidDicom(f"cannot decode element {elem.tag:08x}: {exc}") from exc
    return _AMBIGUOUS_DEFAULTS.get(str(vr), str(vr))


def _int_value(attributes: Attributes, tag: int) -> int | None:
    attribute = attributes.get(tag)
    if attribute is None or not attribute.val:
        return None
    try:
        return int(float(attribute.val.split("\\")[0].strip()))
    except ValueError:
        return None


def frame_count(attributes: Attributes) -> int:
    """NumberOfFrames (0028,0008), 1 when absent or unusable."""
    frames = _int_value(attributes, 0x00280008)
    return frames if frames and frames > 0 else 1


#: What :func:`frame_geometry` reads: SamplesPerPixel, NumberOfFrames, Rows,
#: Columns, BitsAllocated.
GEOMETRY_TAGS = (0x00280002, 0x00280008, 0x00280010, 0x00280011, 0x00280100)


def frame_geometry(attributes: Attributes) -> pixeldata.FrameGeometry | None:
    """Native frame geometry from Rows, Columns, SamplesPerPixel, BitsAllocated."""
    rows = _int_value(attributes, 0x00280010)
    columns = _int_value(attributes, 0x00280011)
    bits = _int_value(attributes, 0x00280100)
    samples = _int_value(attributes, 0x00280002) or 1
    if not rows or not columns or not bits:
        return None
    return pixeldata.FrameGeometry(frame_count(attributes), rows, columns, samples, bits)


def extract_dataset(ds: Dataset, first_bid: int, memo: ConversionMemo | None = None) -> Extracted:
    """Convert ``ds`` (raw elements as read from a file) into MINT attributes.

    Decoded elements (a dataset built or edited in memory) are encoded first;
    raises :class:`InvalidDicom` when a value is broken. ``memo`` (kept by a
    builder across the instances of a study) lets an element identical to one
    converted before be copied instead of converted again.
    """
    extractor = _Extractor(first_bid, value_file(ds), memo)
    attributes: Attributes = {}
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        for tag, attribute in extractor.dataset(meta, DEFAULT_ENCODINGS, top=False).items():
            if tag & 0xFFFF != 0:  # group length is recomputed on writing
                attributes[tag] = attribute
    attributes.update(extractor.dataset(ds, DEFAULT_ENCODINGS, top=True))
    preamble = getattr(ds, "preamble", None)
    if not preamble or preamble == bytes(len(preamble)) or len(preamble) != 128:
        preamble = None
    return Extracted(attributes, extractor.items, transfer_syntax_of(ds), preamble)
