"""PixelData: one item per frame, exact rebuild for native, bit-packed and encapsulated data."""

from __future__ import annotations

import io

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended, generate_frames
from pydicom.filewriter import dcmwrite
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGBaseline8Bit, SecondaryCaptureImageStorage

from mintstore.convert import StudyBuilder, instance_to_dataset, write_part10
from mintstore.model import PIXEL_DATA_TAG, Attribute


def _image(
    pixels: bytes,
    *,
    frames: int,
    rows: int,
    columns: int,
    bits: int,
    syntax: str,
    encapsulated: bool = False,
    extended: tuple[bytes, bytes] | None = None,
) -> bytes:
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.StudyInstanceUID = "1.2.3"
    ds.SeriesInstanceUID = "1.2.3.4"
    ds.Rows = rows
    ds.Columns = columns
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    if frames > 1:
        ds.NumberOfFrames = frames
    if extended is not None:
        ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = extended
    ds.PixelData = pixels
    if encapsulated:
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _convert(part10: bytes) -> tuple[Attribute, dict[int, bytes], bytes]:
    builder = StudyBuilder()
    items = {bid: bytes(c) for bid, c in builder.add_part10(part10)}
    study = builder.study
    series = study.series["1.2.3.4"]
    attribute = series.instances["1.2.3.4.5"].attributes[PIXEL_DATA_TAG]
    rebuilt = instance_to_dataset(study, "1.2.3.4", "1.2.3.4.5", items.__getitem__)
    out = io.BytesIO()
    write_part10(rebuilt, out)
    return attribute, items, out.getvalue()


def test_native_multiframe_is_one_item_per_frame() -> None:
    frames = [bytes([f]) * 12 for f in range(4)]
    part10 = _image(
        b"".join(frames), frames=4, rows=2, columns=3, bits=16, syntax=ExplicitVRLittleEndian
    )
    attribute, items, rebuilt = _convert(part10)
    assert attribute.framecount == 4 and attribute.bsize == 48
    assert [items[b] for b in attribute.bids()] == frames
    assert rebuilt == part10


def test_native_odd_total_is_padded_back() -> None:
    frames = [bytes([f + 1]) * 9 for f in range(3)]  # 27 bytes, padded to 28 in the file
    part10 = _image(
        b"".join(frames), frames=3, rows=3, columns=3, bits=8, syntax=ExplicitVRLittleEndian
    )
    attribute, items, rebuilt = _convert(part10)
    assert [items[b] for b in attribute.bids()] == frames
    assert rebuilt == part10


def test_bit_packed_frames_not_on_byte_boundaries() -> None:
    frame_bits = [[(f + i) % 2 for i in range(9)] for f in range(5)]  # 3x3 pixels, 1 bit
    stream = [bit for frame in frame_bits for bit in frame]
    packed = int("".join(map(str, reversed(stream))), 2).to_bytes(6, "little")  # 45 bits -> 6 bytes
    part10 = _image(packed, frames=5, rows=3, columns=3, bits=1, syntax=ExplicitVRLittleEndian)
    attribute, items, rebuilt = _convert(part10)
    assert attribute.framecount == 5
    for bits, bid in zip(frame_bits, attribute.bids(), strict=True):
        value = int.from_bytes(items[bid], "little")
        assert [(value >> i) & 1 for i in range(9)] == bits
    assert rebuilt == part10


def _jpeg_frame(n: int, size: int) -> bytes:
    body = bytes((n * 7 + i) % 251 for i in range(size))
    return b"\xff\xd8" + body + b"\xff\xd9"


@pytest.mark.parametrize(("fragments", "has_bot"), [(1, True), (1, False), (3, True), (2, False)])
def test_encapsulated_frames_keep_their_fragments(fragments: int, has_bot: bool) -> None:
    frames = [_jpeg_frame(n, 100 + 10 * n) for n in range(3)]
    value = encapsulate(frames, fragments_per_frame=fragments, has_bot=has_bot)
    part10 = _image(
        value, frames=3, rows=8, columns=8, bits=8, syntax=JPEGBaseline8Bit, encapsulated=True
    )
    attribute, items, rebuilt = _convert(part10)
    assert attribute.framecount == 3
    assert [items[b] for b in attribute.bids()] == frames
    assert attribute.encapsulation is not None
    assert all(len(lengths) == fragments for lengths in attribute.encapsulation.frame_fragments)
    assert rebuilt == part10
    assert dcmread(io.BytesIO(rebuilt)).PixelData == dcmread(io.BytesIO(part10)).PixelData


def test_encapsulated_with_extended_offset_table() -> None:
    frames = [_jpeg_frame(n, 300 + n) for n in range(3)]
    value, offsets, lengths = encapsulate_extended(frames)
    part10 = _image(
        value,
        frames=3,
        rows=8,
        columns=8,
        bits=8,
        syntax=JPEGBaseline8Bit,
        encapsulated=True,
        extended=(offsets, lengths),
    )
    attribute, items, rebuilt = _convert(part10)
    # fragments are padded to even length: the items hold the padded payloads
    assert [items[b] for b in attribute.bids()] == [f + b"\0" * (len(f) % 2) for f in frames]
    assert rebuilt == part10


def test_unsplittable_encapsulated_frames_stay_together_losslessly() -> None:
    # 3 frames declared, 2 fragments, no offset table, no JPEG markers: frames unknowable
    value = encapsulate([b"ab" * 50, b"cd" * 60], fragments_per_frame=1, has_bot=False)
    part10 = _image(
        value, frames=3, rows=8, columns=8, bits=8, syntax=JPEGBaseline8Bit, encapsulated=True
    )
    attribute, _, rebuilt = _convert(part10)
    assert attribute.framecount is None
    assert attribute.encapsulation is not None
    assert attribute.encapsulation.frame_fragments == [[100, 120]]
    assert rebuilt == part10


def test_compressed_frames_without_fragment_layout_are_encapsulated_validly() -> None:
    """Metadata from elsewhere (e.g. the RI) has no fragment layout: still a valid file."""
    frames = [_jpeg_frame(n, 120) for n in range(2)]
    value = encapsulate(frames, fragments_per_frame=2, has_bot=True)
    part10 = _image(
        value, frames=2, rows=8, columns=8, bits=8, syntax=JPEGBaseline8Bit, encapsulated=True
    )
    builder = StudyBuilder()
    items = {bid: bytes(c) for bid, c in builder.add_part10(part10)}
    study = builder.study
    study.series["1.2.3.4"].instances["1.2.3.4.5"].attributes[PIXEL_DATA_TAG].encapsulation = None
    rebuilt = instance_to_dataset(study, "1.2.3.4", "1.2.3.4.5", items.__getitem__)
    out = io.BytesIO()
    write_part10(rebuilt, out)
    reread = dcmread(io.BytesIO(out.getvalue()))
    assert list(generate_frames(reread.PixelData, number_of_frames=2)) == frames
