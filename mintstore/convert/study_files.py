"""Part-10 files of many instances of one study, each shared element encoded once.

Why: a ZIP of 2,000 small instances took 17x its multipart download, because
every instance was rebuilt from scratch (a pydicom dataset of ~60 elements,
then pydicom's writer element by element). Most of those elements are the
same objects for every instance (study, series and normalized levels), and
an element's encoding depends only on the element, the byte order, the VR
encoding and the transfer syntax family. :class:`StudyPart10Writer` encodes a
shared element the first time an instance needs it and reuses the bytes for
every later instance in the same encoding; per instance, only its own
attributes and its binary items are encoded.

Byte-exact with :func:`~mintstore.convert.to_dicom.instance_to_dataset` +
:func:`~mintstore.convert.to_dicom.write_part10` (a test compares both over
the whole test corpus): elements are built by the same
:class:`~mintstore.convert.to_dicom.ElementRebuilder`; a raw element's header
is written here exactly as pydicom's ``write_data_element`` writes it (with
its rule that a short-length VR over 64 KiB becomes UN), sequences are
written by pydicom itself. A Deflated instance (its whole data set
compressed) and a stored group length of the file meta take the general path.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.uid import DeflatedExplicitVRLittleEndian
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from mintstore.convert.extract import GEOMETRY_TAGS, SPECIFIC_CHARACTER_SET_TAG, UNDEFINED_LENGTH
from mintstore.convert.to_dicom import (
    ElementRebuilder,
    ReadItem,
    encoding_of,
    encodings_of,
    find_instance,
    instance_to_dataset,
    is_encapsulated,
    is_native_syntax,
    set_encoding,
    syntax_of,
    write_part10,
)
from mintstore.convert.values import DEFAULT_ENCODINGS
from mintstore.errors import InvalidMetadata
from mintstore.model import PIXEL_DATA_TAG, Attribute, Attributes, Series, Study

_META_GROUP = 0x0002
_GROUP_LENGTH_TAG = 0x00020000
_ENCAPSULATED_ITEM = {True: b"\xfe\xff\x00\xe0", False: b"\xff\xfe\xe0\x00"}

#: (implicit VR, little endian, encapsulated syntax, text encodings)
_Encoding = tuple[bool, bool, bool, bool, tuple[str, ...]]


def encode_raw(elem: RawDataElement, implicit: bool, little: bool) -> bytes:
    """One raw element as pydicom's ``write_data_element`` writes it."""
    value = elem.value if isinstance(elem.value, bytes) else bytes(elem.value or b"")
    undefined = elem.length == UNDEFINED_LENGTH
    return encode_value(int(elem.tag), str(elem.VR), value, implicit, little, undefined)


def encode_value(
    tag: int, vr: str, value: bytes, implicit: bool, little: bool, undefined: bool = False
) -> bytes:
    """Tag, VR and length as pydicom's ``write_data_element`` writes them, then the value."""
    order = "<" if little else ">"
    if undefined and tag == PIXEL_DATA_TAG and not value.startswith(_ENCAPSULATED_ITEM[little]):
        raise ValueError("undefined-length Pixel Data that is not encapsulated")
    length = UNDEFINED_LENGTH if undefined else len(value)
    if implicit:
        header = struct.pack(f"{order}HHI", tag >> 16, tag & 0xFFFF, length)
    else:
        if len(vr) != 2:
            raise ValueError(f"cannot write ambiguous VR {vr!r} of element {tag:08x}")
        if vr not in EXPLICIT_VR_LENGTH_32 and not undefined and length > 0xFFFF:
            vr = "UN"  # PS3.5 6.2.2, as pydicom does
        code = vr.encode("latin-1")
        if vr in EXPLICIT_VR_LENGTH_32:
            header = struct.pack(f"{order}HH2sHI", tag >> 16, tag & 0xFFFF, code, 0, length)
        elif undefined:
            header = struct.pack(f"{order}HH2sI", tag >> 16, tag & 0xFFFF, code, length)
        else:
            header = struct.pack(f"{order}HH2sH", tag >> 16, tag & 0xFFFF, code, length)
    if undefined:
        return header + value + struct.pack(f"{order}HHI", 0xFFFE, 0xE0DD, 0)
    return header + value


def _encode_sequence(elem: DataElement, implicit: bool, little: bool) -> bytes:
    """A rebuilt sequence, written by pydicom (items marked as already encoded)."""
    holder = Dataset()
    holder._dict[elem.tag] = elem
    set_encoding(holder, implicit, little)
    buffer = DicomBytesIO()
    buffer.is_implicit_VR = implicit
    buffer.is_little_endian = little
    write_data_element(buffer, elem, list(DEFAULT_ENCODINGS))
    return buffer.getvalue()


@dataclass
class _SharedRun:
    """A series' shared elements in one encoding: tags in order and their bytes."""

    tags: list[int]
    encoded: list[bytes]


class StudyPart10Writer:
    """Writes instances of one study as Part-10 files, sharing encoded elements.

    Per series and encoding, the elements its instances inherit (study,
    series and normalized levels) are encoded once, in tag order; an
    instance's file is that run with the instance's own elements (and its
    PixelData, never shared) spliced in. Memory is bounded by the study's
    shared metadata, not by its instance count.
    """

    def __init__(self, study: Study, read_item: ReadItem) -> None:
        self._study = study
        self._read_item = read_item
        self._shared: dict[str, tuple[Attributes, Attributes]] = {}
        self._encodings: dict[int, tuple[str, ...]] = {}
        self._runs: dict[tuple[str, bool, _Encoding], _SharedRun] = {}
        self._syntaxes: dict[str, tuple[bool, bool, bool, bool]] = {}

    def _shared_of(self, series: Series) -> tuple[Attributes, Attributes]:
        """Study, series and normalized attributes overlaid, and their file meta part
        (computed once per series)."""
        found = self._shared.get(series.series_instance_uid)
        if found is None:
            shared: Attributes = {}
            shared.update(self._study.attributes)
            shared.update(series.attributes)
            shared.update(series.normalized_attributes)
            meta = {tag: a for tag, a in shared.items() if tag >> 16 == _META_GROUP}
            found = self._shared[series.series_instance_uid] = (shared, meta)
        return found

    def _syntax(self, syntax: str) -> tuple[bool, bool, bool, bool]:
        """Implicit VR, little endian, encapsulated and native pixel data of ``syntax``."""
        found = self._syntaxes.get(syntax)
        if found is None:
            found = self._syntaxes[syntax] = (
                *encoding_of(syntax),
                is_encapsulated(syntax),
                is_native_syntax(syntax),
            )
        return found

    def write(self, series_uid: str, sop_uid: str, out: BinaryIO) -> None:
        """Write one instance's Part-10 file to ``out``."""
        study = self._study
        series, instance = find_instance(study, series_uid, sop_uid)
        shared, shared_meta = self._shared_of(series)
        own = instance.attributes
        meta = {**shared_meta, **{tag: a for tag, a in own.items() if tag >> 16 == _META_GROUP}}
        syntax = syntax_of(instance, meta)
        if syntax == DeflatedExplicitVRLittleEndian or _GROUP_LENGTH_TAG in meta:
            write_part10(instance_to_dataset(study, series_uid, sop_uid, self._read_item), out)
            return
        implicit, little, encapsulated, native = self._syntax(syntax)
        charset = own.get(SPECIFIC_CHARACTER_SET_TAG) or shared.get(SPECIFIC_CHARACTER_SET_TAG)
        encodings = self._encodings.get(id(charset))
        if encodings is None:
            only = {SPECIFIC_CHARACTER_SET_TAG: charset} if charset is not None else {}
            encodings = encodings_of(only, DEFAULT_ENCODINGS)
            if charset is None or charset is shared.get(SPECIFIC_CHARACTER_SET_TAG):
                self._encodings[id(charset)] = encodings
        try:
            data = self._elements(
                series_uid, False, shared, own, (implicit, little, encapsulated, native, encodings)
            )
            if meta:
                meta_encodings = encodings_of(meta, DEFAULT_ENCODINGS)
                meta_bytes = self._elements(
                    series_uid, True, shared, own, (False, True, False, False, meta_encodings)
                )
                group_length = struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(meta_bytes))
                preamble = instance.preamble or b"\x00" * 128
                out.write(preamble + b"DICM" + group_length + meta_bytes)
        except (ValueError, KeyError, IndexError) as exc:
            raise InvalidMetadata(f"instance {sop_uid} cannot be rebuilt: {exc}") from exc
        out.write(data)

    def _elements(
        self, series_uid: str, meta: bool, shared: Attributes, own: Attributes, encoding: _Encoding
    ) -> bytes:
        """The encoded elements of the file meta (``meta``) or the data set, in tag order."""
        implicit, little, encapsulated, native, encodings = encoding
        rebuilder = ElementRebuilder(self._read_item, implicit, little, encapsulated, native)
        key = (series_uid, meta, encoding)
        run = self._runs.get(key)
        if run is None:
            tags = sorted(
                tag
                for tag in shared
                if (tag >> 16 == _META_GROUP) == meta and tag != PIXEL_DATA_TAG
            )
            run = _SharedRun(
                tags, [self._encode(rebuilder, shared[tag], encodings, shared) for tag in tags]
            )
            self._runs[key] = run
        spliced = sorted(tag for tag in own if (tag >> 16 == _META_GROUP) == meta)
        if not meta and PIXEL_DATA_TAG in shared and PIXEL_DATA_TAG not in own:
            spliced = sorted([*spliced, PIXEL_DATA_TAG])
        if not spliced:
            return b"".join(run.encoded)
        # PixelData is the only element whose encoding reads other attributes (its geometry).
        geometry = {
            tag: own[tag] if tag in own else shared[tag]
            for tag in GEOMETRY_TAGS
            if tag in own or tag in shared
        }
        parts: list[bytes] = []
        position = 0
        for tag in spliced:
            index = bisect_left(run.tags, tag, position)
            parts.extend(run.encoded[position:index])
            position = index + 1 if index < len(run.tags) and run.tags[index] == tag else index
            attribute = own[tag] if tag in own else shared[tag]
            parts.append(self._encode(rebuilder, attribute, encodings, geometry))
        parts.extend(run.encoded[position:])
        return b"".join(parts)

    @staticmethod
    def _encode(
        rebuilder: ElementRebuilder,
        attribute: Attribute,
        encodings: tuple[str, ...],
        context: Attributes,
    ) -> bytes:
        if attribute.vr != "SQ" and attribute.items is None and attribute.bid is None:
            value = rebuilder.plain_value(attribute, encodings)
            return encode_value(
                attribute.tag, attribute.vr, value, rebuilder.implicit, rebuilder.little
            )
        elem = rebuilder.element(attribute, encodings, context)
        if isinstance(elem, RawDataElement):
            return encode_raw(elem, rebuilder.implicit, rebuilder.little)
        return _encode_sequence(elem, rebuilder.implicit, rebuilder.little)


def part10_writer(study: Study, read_item: ReadItem) -> Callable[[str, str, BinaryIO], None]:
    """``write(series_uid, sop_uid, out)`` for the instances of ``study`` (shared work)."""
    return StudyPart10Writer(study, read_item).write
