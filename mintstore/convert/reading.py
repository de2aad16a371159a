"""Reading Part-10 input eagerly, turning every failure into InvalidDicom.

pydicom reads lazily and leniently; an ingest must instead fail *now*, with a
clear message, before anything is written. :func:`read_part10` parses the whole
file (no deferred values) and walks its element structure
(:mod:`~mintstore.convert.structure`), so a file cut inside a sequence or
encapsulated pixel data, which pydicom silently accepts, is rejected; the
converter also checks each value's length against its header.

Files without the 128-byte preamble and "DICM" prefix are accepted only when
they start like a DICOM data set (group 0002 or 0008 in either byte order), the
same heuristic as reading with ``force``; anything else is garbage.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
)

from mintstore.convert.structure import (
    DEFAULT_LIMITS,
    Part10Limits,
    announced_syntax,
    check_structure,
)
from mintstore.errors import InvalidDicom

Source = str | os.PathLike[str] | BinaryIO | bytes | bytearray | memoryview

_PLAUSIBLE_FIRST_GROUPS = (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")


def _read_all(source: Source) -> bytes:
    """The whole input; streams need not be seekable (e.g. an HTTP body part)."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise InvalidDicom(f"cannot read {os.fspath(source)!r}: {exc}") from exc
    try:
        return source.read()
    except OSError as exc:
        raise InvalidDicom(f"cannot read the DICOM stream: {exc}") from exc


def read_part10(source: Source, limits: Part10Limits = DEFAULT_LIMITS) -> Dataset:
    """Read a whole Part-10 file (path, bytes or binary stream) into a dataset.

    The structure is walked *before* pydicom parses anything, in the encoding
    the file announces, so a file that would be expensive to read (millions
    of elements, a deflate bomb) is refused within ``limits``; after pydicom
    read it, a file whose actual encoding differs from the announced one is
    walked again in that encoding.
    """
    data = _read_all(source)
    syntax = announced_syntax(data)
    implicit, little = _encoding_of(syntax, data)
    deflated = syntax == DeflatedExplicitVRLittleEndian
    looks_like_dicom = data[128:132] == b"DICM" or data[:2] in _PLAUSIBLE_FIRST_GROUPS
    if looks_like_dicom:  # anything else pydicom refuses at once ("not a DICOM file")
        check_structure(data, implicit=implicit, little=little, deflated=deflated, limits=limits)
    ds = _read(data)
    read_implicit, read_little = ds.original_encoding
    if not looks_like_dicom or (bool(read_implicit), read_little is not False) != (
        implicit,
        little,
    ):
        check_structure(
            data,
            implicit=bool(read_implicit),
            little=read_little is not False,
            deflated=deflated,
            limits=limits,
        )
    return ds


def _encoding_of(syntax: str | None, data: bytes) -> tuple[bool, bool]:
    """(implicit VR, little endian) as the file announces them."""
    if syntax == ImplicitVRLittleEndian:
        return True, True
    if syntax == ExplicitVRBigEndian:
        return False, False
    if syntax is not None:
        return False, True
    # No meta information: the first group number tells the byte order.
    start = 132 if data[128:132] == b"DICM" else 0
    big = data[start : start + 2] in (b"\x00\x08", b"\x00\x02")
    return True, not big


def _read(data: bytes) -> Dataset:
    try:
        return dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError as exc:
        if len(data) < 8 or data[:2] not in _PLAUSIBLE_FIRST_GROUPS:
            raise InvalidDicom(f"not a DICOM Part-10 file: {exc}") from exc
        try:
            return dcmread(io.BytesIO(data), force=True)
        except Exception as inner:
            raise InvalidDicom(f"malformed DICOM data set: {inner}") from inner
    except Exception as exc:  # pydicom surfaces corruption as many exception types
        raise InvalidDicom(f"malformed DICOM file: {type(exc).__name__}: {exc}") from exc


def study_instance_uid(ds: Dataset) -> str:
    """The Study Instance UID of a dataset read by :func:`read_part10`.

    Reads the raw bytes instead of ``ds.StudyInstanceUID`` so that grouping
    instances by study (before handing them to a ``StudyBuilder``) does not
    decode the element, which would make its value go through pydicom's
    re-encoding. Raises InvalidDicom when the UID is missing or empty.
    """
    elem = ds.get_item(0x0020000D) if 0x0020000D in ds._dict else None
    value = elem.value if elem is not None else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value or "").strip(" \x00")
    if not text:
        raise InvalidDicom("the instance has no Study Instance UID (0020000d)")
    return text
