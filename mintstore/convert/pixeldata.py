"""PixelData <-> one binary item per frame, rebuilt byte for byte.

Why per frame: MINT clients fetch frames individually (``binaryitems/N``), and
the RI stored one item per frame. Every split below is *verified*: the frames
are joined back with the same function reconstruction uses, and only if that
gives the original bytes is the split used; otherwise the whole value is kept
as a single item (``framecount`` omitted). So a malformed or unusual value can
cost per-frame access, never data.

Native data: frame ``i`` is bytes ``[i*size, (i+1)*size)`` with
``size = rows*columns*samples*bitsAllocated/8``; an odd total is padded with one
NUL byte on rebuild, as the standard requires. Bit-packed data
(BitsAllocated 1) whose frames do not end on a byte boundary: each frame's bits
are extracted (DICOM packs pixels from the least significant bit) into an item
of ``ceil(bits/8)`` bytes, zero-filled at the end, and re-packed on rebuild. So
items of bit-packed multi-frame data are per-frame *repacked* bits, not slices
of the original value.

Encapsulated data: each frame's item is the concatenation of its fragments'
payloads; :class:`~mintstore.model.Encapsulation` records the Basic Offset
Table bytes and every fragment's length. Frames are found with pydicom's
encapsulation helpers (Basic Offset Table, Extended Offset Table, or the
single-frame / one-fragment-per-frame / JPEG end-of-image heuristics); if they
do not give exactly NumberOfFrames frames, all fragments form one item.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.encaps import generate_fragmented_frames

from mintstore.file_range import FileRange
from mintstore.model import Encapsulation

ITEM_TAG = b"\xfe\xff\x00\xe0"


@dataclass(frozen=True)
class FrameGeometry:
    """What native frame sizes depend on (from the instance's own attributes)."""

    frames: int
    rows: int
    columns: int
    samples: int
    bits_allocated: int

    @property
    def frame_bits(self) -> int:
        return self.rows * self.columns * self.samples * self.bits_allocated


def _pad_even(data: bytes) -> bytes:
    return data + b"\x00" if len(data) % 2 else data


# --- native ---------------------------------------------------------------------


def join_native(frames: Sequence[bytes | memoryview], geometry: FrameGeometry | None) -> bytes:
    """Rebuild a native PixelData value from its frame items."""
    if len(frames) == 1:
        return bytes(frames[0])
    frame_bits = geometry.frame_bits if geometry else 0
    if geometry is None or frame_bits % 8 == 0:
        return _pad_even(b"".join(frames))
    total = 0
    for index, frame in enumerate(frames):
        total |= int.from_bytes(frame, "little") << (index * frame_bits)
    length = (len(frames) * frame_bits + 7) // 8
    return _pad_even(total.to_bytes(length, "little"))


def split_native(raw: bytes, geometry: FrameGeometry | None) -> list[memoryview]:
    """Frame items of a native value; ``[whole]`` when it cannot be split exactly."""
    view = memoryview(raw)
    if geometry is None or geometry.frames <= 1 or geometry.frame_bits <= 0:
        return [view]
    frame_bits = geometry.frame_bits
    if frame_bits % 8 == 0:
        size = frame_bits // 8
        frames = [view[i * size : (i + 1) * size] for i in range(geometry.frames)]
    else:
        whole = int.from_bytes(raw, "little")
        mask = (1 << frame_bits) - 1
        size = (frame_bits + 7) // 8
        frames = [
            memoryview(((whole >> (i * frame_bits)) & mask).to_bytes(size, "little"))
            for i in range(geometry.frames)
        ]
    if any(len(frame) != len(frames[0]) for frame in frames) or len(frames[-1]) == 0:
        return [view]
    if join_native(frames, geometry) != raw:
        return [view]
    return frames


def split_native_range(
    value: FileRange, geometry: FrameGeometry | None
) -> list[FileRange] | list[memoryview]:
    """:func:`split_native` for a value left in its file, without reading the frames.

    Byte-aligned frames are sub-ranges; the split is used exactly when
    :func:`split_native` would verify it (the frames fill the value, plus one
    NUL pad byte when their total is odd), decided from the lengths and at
    most one byte read. Bit-packed frames are repacked in memory as before
    (only BitsAllocated 1 data, small by nature).
    """
    if geometry is None or geometry.frames <= 1 or geometry.frame_bits <= 0:
        return [value]
    if geometry.frame_bits % 8:
        frames = split_native(bytes(value), geometry)
        return [value] if len(frames) == 1 else frames
    size = geometry.frame_bits // 8
    total = size * geometry.frames
    padded = total % 2 == 1 and value.length == total + 1 and value.read_at(total, 1) == b"\x00"
    if value.length != total and not padded:
        return [value]
    return [value.sub(index * size, size) for index in range(geometry.frames)]


# --- encapsulated -------------------------------------------------------------------


def _item(payload_length: int) -> bytes:
    return ITEM_TAG + struct.pack("<I", payload_length)


def join_encapsulated(frames: Sequence[bytes | memoryview], layout: Encapsulation) -> bytes:
    """Rebuild an encapsulated PixelData value (without its sequence delimiter)."""
    parts = [_item(len(layout.offset_table)), layout.offset_table]
    for frame, lengths in zip(frames, layout.frame_fragments, strict=True):
        view = memoryview(frame)
        position = 0
        for length in lengths:
            parts.append(_item(length))
            parts.append(bytes(view[position : position + length]))
            position += length
        if position != len(view):
            raise ValueError("frame item length does not match its fragment lengths")
    return b"".join(parts)


def split_encapsulated(
    raw: bytes, frames: int, extended_offsets: tuple[bytes, bytes] | None
) -> tuple[list[bytes], Encapsulation] | None:
    """Frame items and fragment layout; ``None`` if the value is not parseable."""
    if len(raw) < 8 or raw[:4] != ITEM_TAG:
        return None
    (table_length,) = struct.unpack("<I", raw[4:8])
    if 8 + table_length > len(raw):
        return None
    offset_table = raw[8 : 8 + table_length]
    grouped = _group_fragments(raw, frames, extended_offsets)
    if grouped is None:
        return None
    layout = Encapsulation(
        offset_table=offset_table,
        frame_fragments=[[len(fragment) for fragment in frame] for frame in grouped],
    )
    items = [b"".join(frame) for frame in grouped]
    if join_encapsulated(items, layout) != raw:
        merged = [fragment for frame in grouped for fragment in frame]
        layout = Encapsulation(offset_table, [[len(fragment) for fragment in merged]])
        items = [b"".join(merged)]
        if join_encapsulated(items, layout) != raw:
            return None
    return items, layout


def _group_fragments(
    raw: bytes, frames: int, extended_offsets: tuple[bytes, bytes] | None
) -> list[tuple[bytes, ...]] | None:
    try:
        grouped = list(
            generate_fragmented_frames(
                raw, number_of_frames=max(frames, 1), extended_offsets=extended_offsets
            )
        )
    except Exception:  # pydicom raises ValueError / struct errors on odd layouts
        grouped = []
    if len(grouped) == max(frames, 1):
        return grouped
    try:  # fall back to every fragment in one item
        everything = list(generate_fragmented_frames(raw, number_of_frames=1))
    except Exception:
        return None
    merged = tuple(fragment for frame in everything for fragment in frame)
    return [merged] if merged else None
