"""MINT -> DICOM: rebuild one instance as a pydicom dataset and a Part-10 file.

The dataset is assembled from *raw* elements already encoded in the
instance's own transfer syntax, so pydicom writes each value byte for byte
without decoding or re-encoding it (that is what makes rebuilt files identical
to the originals). Every call builds a fresh dataset: nothing is shared
between instances.

Encoding facts are taken from the model where the converter recorded them
(undefined-length sequences and items, a non-zero preamble). Otherwise:

* sequences and items get explicit lengths, except sequences a reader of
  implicit VR data could not recognize (private or unknown tags), which keep
  undefined length so that they stay readable as sequences;
* a file meta group is written with a freshly computed group length after the
  preamble and "DICM";
* an instance without file meta attributes is written as a bare data set in
  its recorded transfer syntax;
* compressed frames without a recorded fragment layout become one fragment
  per frame.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import BinaryIO

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO, DicomFileLike
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from mintstore.convert import pixeldata
from mintstore.convert.extract import (
    EXPLICIT_BE,
    IMPLICIT_LE,
    SPECIFIC_CHARACTER_SET_TAG,
    UNDEFINED_LENGTH,
    frame_geometry,
)
from mintstore.convert.normalize import effective_attributes
from mintstore.convert.values import (
    DEFAULT_ENCODINGS,
    TEXT_VRS,
    is_number_vr,
    number_bytes,
    text_bytes,
)
from mintstore.errors import InvalidMetadata, ItemNotFound
from mintstore.model import PIXEL_DATA_TAG, Attribute, Attributes, Instance, Series, Study

ReadItem = Callable[[int], bytes]
_META_GROUP = 0x0002


def encoding_of(transfer_syntax_uid: str) -> tuple[bool, bool]:
    """(implicit VR, little endian) of a transfer syntax."""
    if transfer_syntax_uid == IMPLICIT_LE:
        return True, True
    return False, transfer_syntax_uid != EXPLICIT_BE


def is_native_syntax(syntax: str) -> bool:
    """Whether ``syntax`` is a known transfer syntax with native (uncompressed) pixel data.

    Its pixel data always has a defined length, so how it is rebuilt never
    depends on the bytes of the pixels (False for unknown or private UIDs).
    """
    try:
        uid = UID(syntax)
        return uid.is_transfer_syntax and not uid.is_encapsulated
    except ValueError:
        return False


def is_encapsulated(syntax: str) -> bool:
    """Whether pixel data of ``syntax`` is encapsulated (False for unknown UIDs)."""
    try:
        uid = UID(syntax)
        return uid.is_transfer_syntax and uid.is_encapsulated
    except ValueError:  # private or not a transfer syntax at all
        return False


def encodings_of(attributes: Attributes, inherited: tuple[str, ...]) -> tuple[str, ...]:
    """The character sets a set's text is written in (its 0008,0005, else ``inherited``)."""
    from pydicom.charset import convert_encodings

    attribute = attributes.get(SPECIFIC_CHARACTER_SET_TAG)
    if attribute is None:
        return inherited
    names = (
        (attribute.val or "").split("\\")
        if attribute.data is None
        else (attribute.data.decode("latin-1").split("\\"))
    )
    names = [name.strip(" \x00") for name in names]
    if not any(names):
        return DEFAULT_ENCODINGS
    return tuple(convert_encodings(names))


def _known_tag(tag: int) -> bool:
    if tag >> 16 & 1:
        return False
    try:
        dictionary_VR(tag)
    except KeyError:
        return False
    return True


class ElementRebuilder:
    """MINT attributes -> raw pydicom elements in one encoding (values as stored)."""

    def __init__(
        self,
        read_item: ReadItem,
        implicit: bool,
        little: bool,
        encapsulated: bool = False,
        native: bool = False,
    ) -> None:
        self.read_item = read_item
        self.implicit = implicit
        self.little = little
        self.encapsulated = encapsulated
        self.native = native

    def raw(self, tag: int, vr: str, value: bytes, undefined: bool = False) -> RawDataElement:
        length = UNDEFINED_LENGTH if undefined else len(value)
        return RawDataElement(Tag(tag), vr, length, value, 0, self.implicit, self.little)

    def fill(self, ds: Dataset, attributes: Attributes, inherited: tuple[str, ...]) -> None:
        encodings = encodings_of(attributes, inherited)
        for tag in sorted(attributes):
            ds._dict[Tag(tag)] = self.element(attributes[tag], encodings, attributes)

    def element(
        self, attribute: Attribute, encodings: tuple[str, ...], context: Attributes
    ) -> RawDataElement | DataElement:
        vr = attribute.vr
        tag = attribute.tag
        if vr == "SQ" or attribute.items is not None:
            items = []
            for item in attribute.items or []:
                child = Dataset()
                self.fill(child, item.attributes, encodings)
                child.is_undefined_length_sequence_item = item.undefined_length
                items.append(child)
            sequence = DataElement(tag, "SQ", Sequence(items))
            # In implicit VR a reader can only recognize a sequence whose VR it
            # does not know by its undefined length: keep such sequences readable.
            sequence.is_undefined_length = attribute.undefined_length or (
                self.implicit and not _known_tag(tag)
            )
            return sequence
        if tag == PIXEL_DATA_TAG and attribute.bid is not None:
            return self.pixel_data(attribute, context)
        if attribute.bid is not None:
            return self.raw(tag, vr, self.item(attribute.bid))
        return self.raw(tag, vr, self.plain_value(attribute, encodings))

    def plain_value(self, attribute: Attribute, encodings: tuple[str, ...]) -> bytes:
        """The value of an attribute that is neither a sequence nor a binary item."""
        vr = attribute.vr
        if vr in TEXT_VRS:
            return text_bytes(attribute, encodings)
        if is_number_vr(vr):
            return number_bytes(attribute, self.little)
        return attribute.data or b""

    def item(self, bid: int) -> bytes:
        return bytes(self.read_item(bid))

    def pixel_data(self, attribute: Attribute, context: Attributes) -> RawDataElement:
        frames = [self.item(bid) for bid in attribute.bids()]
        if attribute.encapsulation is not None:
            value = pixeldata.join_encapsulated(frames, attribute.encapsulation)
            return self.raw(attribute.tag, attribute.vr, value, undefined=True)
        if len(frames) == 1 and frames[0][:4] == pixeldata.ITEM_TAG and not self.native:
            # encapsulated data that could not be cut into fragments: kept whole
            # (never in a known native syntax, whose pixel data has a defined
            # length even if its first pixels happen to read as an item tag)
            return self.raw(attribute.tag, attribute.vr, frames[0], undefined=True)
        if self.encapsulated:
            # Compressed frames without a recorded fragment layout (metadata from
            # elsewhere, e.g. the RI): one fragment per frame is always valid.
            value = encapsulate(frames, fragments_per_frame=1, has_bot=len(frames) > 1)
            return self.raw(attribute.tag, "OB", value, undefined=True)
        value = pixeldata.join_native(frames, frame_geometry(context))
        return self.raw(attribute.tag, attribute.vr, value)


def set_encoding(ds: Dataset, implicit: bool, little: bool) -> None:
    """Mark ``ds`` and its items as encoded, items inheriting the character set.

    Elements were put in place without ``Dataset.__setitem__`` (which would
    decode them), so the links pydicom normally sets are made here: items
    inherit their parent's character set, and every dataset is marked as
    already in the target encoding so pydicom writes the raw bytes as they are.
    """
    charset = ds._character_set
    for elem in ds._dict.values():
        if isinstance(elem, DataElement) and elem.VR == "SQ":
            for item in elem.value:
                item._parent_encoding = charset
                set_encoding(item, implicit, little)
    ds.set_original_encoding(implicit, little, charset)


def find_instance(study: Study, series_uid: str, sop_uid: str) -> tuple[Series, Instance]:
    """The series and instance asked for; ItemNotFound if either is not in ``study``."""
    series = study.series.get(series_uid)
    if series is None:
        raise ItemNotFound(f"series {series_uid} is not in study {study.study_instance_uid}")
    instance = series.instances.get(sop_uid)
    if instance is None:
        raise ItemNotFound(f"instance {sop_uid} is not in series {series_uid}")
    return series, instance


def syntax_of(instance: Instance, meta: Attributes) -> str:
    """The transfer syntax an instance is rebuilt in (its own, else its meta's, else implicit)."""
    syntax_attribute = meta.get(0x00020010)
    return instance.transfer_syntax_uid or (
        (syntax_attribute.val or "").strip("\x00 ") if syntax_attribute else IMPLICIT_LE
    )


def instance_to_dataset(
    study: Study, series_uid: str, sop_uid: str, read_item: ReadItem
) -> Dataset:
    """Rebuild one instance: study, series, normalized, then its own attributes.

    ``read_item(bid)`` returns a binary item's content; it is called once per
    item the instance refers to (frames in order).
    """
    series, instance = find_instance(study, series_uid, sop_uid)
    merged = effective_attributes(study, series, instance)
    meta = {tag: a for tag, a in merged.items() if tag >> 16 == _META_GROUP}
    body = {tag: a for tag, a in merged.items() if tag >> 16 != _META_GROUP}
    syntax = syntax_of(instance, meta)
    implicit, little = encoding_of(syntax)
    try:
        ds = Dataset()
        encapsulated = is_encapsulated(syntax)
        native = is_native_syntax(syntax)
        ElementRebuilder(read_item, implicit, little, encapsulated, native).fill(
            ds, body, DEFAULT_ENCODINGS
        )
        set_encoding(ds, implicit, little)
        if meta:
            file_meta = FileMetaDataset()
            ElementRebuilder(read_item, False, True).fill(file_meta, meta, DEFAULT_ENCODINGS)
            file_meta.set_original_encoding(False, True, file_meta._character_set)
            ds.file_meta = file_meta
            ds.preamble = instance.preamble or b"\x00" * 128
    except (ValueError, KeyError, IndexError) as exc:
        raise InvalidMetadata(f"instance {sop_uid} cannot be rebuilt: {exc}") from exc
    return ds


def write_part10(ds: Dataset, out: BinaryIO) -> None:
    """Write a rebuilt dataset as a Part-10 file (a bare data set if it has no meta).

    Written element by element with pydicom's element writer rather than
    ``dcmwrite`` because ``dcmwrite`` silently drops retired group lengths
    (gggg,0000), which would make the file differ from the original.
    """
    implicit, little = ds.original_encoding
    implicit = bool(implicit) if implicit is not None else True
    little = bool(little) if little is not None else True
    file_meta = getattr(ds, "file_meta", None)
    preamble = getattr(ds, "preamble", None)
    fp = DicomFileLike(out)
    if preamble:
        fp.write(preamble)
        fp.write(b"DICM")
    syntax = None
    if file_meta is not None and len(file_meta):
        if "FileMetaInformationGroupLength" not in file_meta:
            file_meta.FileMetaInformationGroupLength = 0  # pydicom writes the real length
        write_file_meta_info(fp, file_meta, enforce_standard=False)
        syntax = file_meta.get("TransferSyntaxUID")
    body = DicomBytesIO()
    body.is_implicit_VR = implicit
    body.is_little_endian = little
    encodings = (
        list(ds._character_set) if not isinstance(ds._character_set, str) else [ds._character_set]
    )
    for tag in sorted(ds._dict):
        write_data_element(body, ds.get_item(tag), encodings)
    data = body.getvalue()
    if syntax == DeflatedExplicitVRLittleEndian:
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data = compressor.compress(data) + compressor.flush()
        if len(data) % 2:
            data += b"\x00"
    out.write(data)
