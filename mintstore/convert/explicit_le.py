"""The elements of an explicit VR little endian data set, as pydicom reads them, faster.

Ingest reads every instance once, and pydicom's element reader (a file read,
a seek and a tell per element, a generator) cost as much as the whole
conversion after it. Over an in-memory file, unpacking headers at offsets
and slicing values gives the *same* raw elements (tag, VR, length, bytes,
value position, encoding flags) in about half the time (a large PixelData
value is a memoryview of the file's bytes: equal, not copied); whatever this
reader does not handle exactly as pydicom does (an unknown VR, an element of
undefined length other than a sequence or encapsulated data, a stray
delimiter, a value running past the end) makes it return None, and the
caller reads the file with pydicom instead.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, cast

from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.filereader import ENCODED_VR, read_sequence
from pydicom.fileutil import read_undefined_length_value
from pydicom.tag import BaseTag, SequenceDelimiterTag
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32
from pydicom.values import convert_string

_HEADER = struct.Struct("<HH2sH")
_LONG_LENGTH = struct.Struct("<L")
_UNDEFINED = 0xFFFFFFFF
_SEQUENCE_DELIMITER = 0xFFFEE00D
_CHARSET = 0x00080005
_PIXEL_DATA = 0x7FE00010
#: Top-level PixelData at least this long is a view of the file's bytes, not a
#: copy: its frames become binary items that live until they are written, and
#: copying them cost a page fault per 4 KiB on top of the copy.
_VIEW_SIZE = 64 * 1024
#: Two-letter VRs as pydicom names them (bytes -> str), and which have a 4-byte length.
_VR_NAMES = {vr: vr.decode(default_encoding) for vr in ENCODED_VR if len(vr) == 2}
_LONG = frozenset(vr for vr, name in _VR_NAMES.items() if name in EXPLICIT_VR_LENGTH_32)
#: Undefined-length VRs read here: sequences (parsed by pydicom, as it does)
#: and encapsulated data (read to the sequence delimiter).
_ENCAPSULATED = frozenset({"OB", "OW"})

Elements = dict[BaseTag, RawDataElement | DataElement]


def read_body(data: bytes, position: int, stream: BinaryIO) -> Elements | None:
    """The elements from ``position`` to the end of ``data`` (``stream`` holds the same
    bytes; undefined-length values are read from it by pydicom), or None."""
    elements: Elements = {}
    size = len(data)
    encoding: str | list[str] = default_encoding
    while position < size:
        if position + 8 > size:
            return None
        group, number, raw_vr, length = _HEADER.unpack_from(data, position)
        vr = _VR_NAMES.get(raw_vr)
        if vr is None:
            return None
        position += 8
        if raw_vr in _LONG:
            if position + 4 > size:
                return None
            (length,) = _LONG_LENGTH.unpack_from(data, position)
            position += 4
        number = group << 16 | number
        if number == _SEQUENCE_DELIMITER:
            return None
        tag = BaseTag(number)  # compared in Python: compare the int instead
        if length != _UNDEFINED:
            end = position + length
            if end > size:
                return None
            value: bytes | None
            if number == _PIXEL_DATA and length >= _VIEW_SIZE:
                # bytes-like and equal; pydicom's consumers only slice, compare, write it
                value = cast(bytes, memoryview(data)[position:end])
            elif length:
                value = data[position:end]
            else:
                value = cast(bytes | None, empty_value_for_VR(vr, raw=True))
            if number == _CHARSET:
                encoding = convert_encodings(convert_string(value or b"", True))
            elements[tag] = RawDataElement(tag, vr, length, value, position, False, True)
            position = end
            continue
        stream.seek(position)
        if vr == "SQ":
            sequence = read_sequence(stream, False, True, length, encoding)
            elements[tag] = DataElement(tag, vr, sequence, position, is_undefined_length=True)
        elif vr in _ENCAPSULATED:
            fragments = read_undefined_length_value(stream, True, SequenceDelimiterTag, None)
            elements[tag] = RawDataElement(tag, vr, length, fragments, position, False, True)
        else:
            return None
        position = stream.tell()
    return elements
