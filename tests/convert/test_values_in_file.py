"""Large values of a file-backed Part-10 stay in the file (FileRange), byte for byte.

Issue 14: a 300 MiB upload used to add 300 MiB to the server because PixelData
was read into one ``bytes``. A file-backed stream past the map threshold is now
read with pydicom's ``defer_size``; these tests pin that the result is the
same study and the same item bytes as reading the file into memory (the store side:
tests/store/test_file_ranges.py).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from mintstore.convert import StudyBuilder, read_part10
from mintstore.file_range import FileRange, ItemContent

FRAMES, ROWS, COLUMNS = 4, 1024, 1024  # 8 MiB of 16-bit pixels: past the map threshold


def multiframe_file(path: Path, syntax: str, odd_text: bool = False) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPInstanceUID = sop = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Range^Test"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = FRAMES
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    # A long text value (read back from the file) and a long private binary one.
    ds.TextValue = "x" * (300 * 1024 + (1 if odd_text else 0))
    ds.add_new(0x00091010, "LO", "RANGE TEST")
    ds.add_new(0x00091000 | 0x10 << 8 | 0x01, "OB", os.urandom(400 * 1024))
    rng = np.random.default_rng(7)
    ds.PixelData = rng.integers(0, 65535, FRAMES * ROWS * COLUMNS, dtype="<u2").tobytes()
    ds.preamble = b"\x00" * 128
    ds.save_as(path, implicit_vr=syntax == ImplicitVRLittleEndian, enforce_file_format=True)
    return path


def _both_ways(path: Path) -> tuple[StudyBuilder, list[bytes], StudyBuilder, list[ItemContent]]:
    in_memory = StudyBuilder()
    memory_items = [bytes(c) for _, c in in_memory.add_dataset(read_part10(path.read_bytes()))]
    in_file = StudyBuilder()
    with open(path, "rb") as stream:
        items = in_file.add_dataset(read_part10(stream))
        contents = [c for _, c in items]
        assert [bytes(c) for c in contents] == memory_items  # read while the file is open
    return in_memory, memory_items, in_file, contents


def test_explicit_multiframe_frames_are_ranges_of_the_file(tmp_path: Path) -> None:
    path = multiframe_file(tmp_path / "mf.dcm", ExplicitVRLittleEndian)
    in_memory, _, in_file, contents = _both_ways(path)
    assert in_file.study == in_memory.study
    ranges = [c for c in contents if isinstance(c, FileRange)]
    # four frames and the private OB value; the text value was read into the model
    assert len(ranges) == FRAMES + 1
    assert sorted(len(r) for r in ranges)[-FRAMES:] == [ROWS * COLUMNS * 2] * FRAMES


def test_implicit_vr_file_gives_the_same_study(tmp_path: Path) -> None:
    path = multiframe_file(tmp_path / "mf.dcm", ImplicitVRLittleEndian, odd_text=True)
    in_memory, _, in_file, contents = _both_ways(path)
    assert in_file.study == in_memory.study
    assert sum(isinstance(c, FileRange) for c in contents) >= FRAMES


def test_in_memory_sources_keep_values_in_memory(tmp_path: Path) -> None:
    path = multiframe_file(tmp_path / "mf.dcm", ExplicitVRLittleEndian)
    builder = StudyBuilder()
    items = builder.add_dataset(read_part10(io.BytesIO(path.read_bytes())))
    assert not any(isinstance(c, FileRange) for _, c in items)


def test_large_values_inside_undefined_length_sequences(tmp_path: Path) -> None:
    """pydicom parses undefined-length sequences while reading, without ``defer_size``:
    their large values are in memory, and the study is the same either way."""
    from pydicom.dataset import Dataset as Item
    from pydicom.sequence import Sequence

    path = multiframe_file(tmp_path / "mf.dcm", ExplicitVRLittleEndian)
    from pydicom import dcmread

    ds = dcmread(path)
    item = Item()
    item.add_new(0x00091010, "LO", "RANGE TEST")
    item.add_new(0x00091011, "OB", os.urandom(300 * 1024))
    item.TextValue = "y" * (260 * 1024)
    ds.add_new(0x00091020, "SQ", Sequence([item]))
    ds[0x00091020].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)
    in_memory, _, in_file, contents = _both_ways(path)
    assert in_file.study == in_memory.study
    # the frames and the top-level private OB stay in the file; the nested OB does not
    assert sum(isinstance(c, FileRange) for c in contents) == FRAMES + 1
