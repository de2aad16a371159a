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

import contextlib
import io
import mmap
import os
from typing import BinaryIO, cast

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_partial
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
)

from mintstore.convert.explicit_le import read_body
from mintstore.convert.structure import (
    DEFAULT_LIMITS,
    FileBytes,
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

    A large file-backed stream (an upload spooled to disk, an open file) is
    not read into memory: the walk runs over a read-only map of it (touching
    only element headers) and pydicom reads from the file, leaving every value
    longer than ``DEFER_SIZE`` in it (:func:`value_file` names the descriptor;
    the converter turns those values into :class:`~mintstore.file_range.FileRange`
    items). Such a dataset is usable only while ``source`` stays open.
    """
    found = _mapped(source)
    if found is None:
        data = _read_all(source)
        return _checked_read(data, io.BytesIO(data), limits, defer=False)
    mapped, start, size = found
    view = memoryview(mapped)[start : start + size] if start or size != len(mapped) else None
    try:
        stream = cast(BinaryIO, source)
        ds = _checked_read(view if view is not None else mapped, stream, limits, defer=True)
        if value_file(ds) is not None:
            setattr(ds, _DEFERRED_BASE, _file_offset(source))
        return ds
    finally:
        with contextlib.suppress(BufferError):
            if view is not None:
                view.release()
        with contextlib.suppress(BufferError):  # a view kept by a traceback: the GC unmaps
            mapped.close()


#: Values longer than this stay in a file-backed source (see :func:`read_part10`).
DEFER_SIZE = 256 * 1024
_DEFERRED_FD = "_mintstore_value_fd"
_DEFERRED_BASE = "_mintstore_value_base"


def value_file(ds: Dataset) -> tuple[int, int] | None:
    """The descriptor holding ``ds``'s deferred values and where the data set starts
    in it (None: every value is in memory)."""
    fd = vars(ds).get(_DEFERRED_FD)
    base = vars(ds).get(_DEFERRED_BASE, 0)
    return (fd, base) if isinstance(fd, int) and isinstance(base, int) else None


def _file_offset(source: Source) -> int:
    """Where a stream's byte 0 is in its file (a part in a shared spool file: not 0)."""
    offset = getattr(source, "file_offset", 0)
    return offset if isinstance(offset, int) else 0


def _checked_read(data: FileBytes, stream: BinaryIO, limits: Part10Limits, defer: bool) -> Dataset:
    syntax = announced_syntax(data)
    implicit, little = _encoding_of(syntax, data)
    deflated = syntax == DeflatedExplicitVRLittleEndian
    looks_like_dicom = data[128:132] == b"DICM" or data[:2] in _PLAUSIBLE_FIRST_GROUPS
    if looks_like_dicom:  # anything else pydicom refuses at once ("not a DICOM file")
        check_structure(data, implicit=implicit, little=little, deflated=deflated, limits=limits)
    # A deflated data set is inflated into memory by pydicom: its offsets are not the file's.
    defer_size = DEFER_SIZE if defer and not deflated else None
    # Only where the file announces explicit VR little endian (not deflated: that
    # data set is not in ``data`` as it stands); a deferring read is pydicom's.
    explicit_le = syntax is not None and not implicit and little and not deflated
    quick = _read_quickly(data, stream) if explicit_le and defer_size is None else None
    ds = quick or _read(stream, len(data), bytes(data[:2]), defer_size)
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


#: Streams at least this large that live in a file are mapped, not read.
MAP_THRESHOLD = 8 * 1024**2


def _mapped(source: Source) -> tuple[mmap.mmap, int, int] | None:
    """A read-only map of a file-backed stream, where the stream starts in it, its size.

    A stream with a ``file_offset`` (one part of an upload's shared spool file)
    is ``len(stream)`` bytes from there; any other is its whole file.
    """
    if isinstance(source, bytes | bytearray | memoryview | str | os.PathLike):
        return None
    if getattr(source, "_rolled", None) is False:
        return None  # a SpooledTemporaryFile still in memory (fileno() would roll it over)
    try:
        if source.tell() != 0:
            return None
        descriptor = source.fileno()
        offset = _file_offset(source)
        in_shared_file = hasattr(source, "file_offset")
        size = len(source) if in_shared_file else os.fstat(descriptor).st_size  # type: ignore[arg-type]
        if size < MAP_THRESHOLD:
            return None
        aligned = offset - offset % mmap.ALLOCATIONGRANULARITY
        mapped = mmap.mmap(
            descriptor, offset - aligned + size, access=mmap.ACCESS_READ, offset=aligned
        )
        return mapped, offset - aligned, size
    except (AttributeError, OSError, ValueError, TypeError, io.UnsupportedOperation):
        return None


def _encoding_of(syntax: str | None, data: FileBytes) -> tuple[bool, bool]:
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


def _stop_at_once(*_: object) -> bool:
    return True


def _read_quickly(data: FileBytes, stream: BinaryIO) -> Dataset | None:
    """What ``dcmread(stream)`` returns, for the common case, in a fraction of its time.

    pydicom reads the preamble, file meta and command set (``read_partial``
    told to stop before the first data set element); the data set itself,
    when it is explicit VR little endian, is read by
    :func:`~mintstore.convert.explicit_le.read_body` into the same raw
    elements pydicom would make. None (read it with pydicom) for anything
    else: a test compares both readings over the whole corpus.
    """
    if not isinstance(data, bytes) or data[128:132] != b"DICM":
        return None
    try:
        stream.seek(0)
        ds = read_partial(stream, stop_when=_stop_at_once)
        if ds._dict or ds.original_encoding != (False, True) or ds.buffer is not stream:
            return None  # a command set, not explicit VR little endian, or inflated elsewhere
        elements = read_body(data, stream.tell(), stream)
    except Exception:  # whatever is wrong, pydicom's reading says it (as InvalidDicom)
        return None
    if elements is None:
        return None
    ds._dict.update(elements)
    # as read_partial ends (which also decodes Specific Character Set in place)
    ds.set_original_encoding(False, True, ds._character_set)
    return ds


def _read(stream: BinaryIO, size: int, head: bytes, defer_size: int | None) -> Dataset:
    try:
        stream.seek(0)
        ds = dcmread(stream, force=False, defer_size=defer_size)
        if defer_size is not None:
            setattr(ds, _DEFERRED_FD, stream.fileno())
        return ds
    except InvalidDicomError as exc:
        if size < 8 or head not in _PLAUSIBLE_FIRST_GROUPS:
            raise InvalidDicom(f"not a DICOM Part-10 file: {exc}") from exc
        try:
            stream.seek(0)
            ds = dcmread(stream, force=True, defer_size=defer_size)
            if defer_size is not None:
                setattr(ds, _DEFERRED_FD, stream.fileno())
            return ds
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
