"""The quick Part-10 reader gives exactly the data set pydicom's ``dcmread`` gives.

``reading._read_quickly`` reads explicit VR little endian data sets itself
(``convert/explicit_le.py``) and leaves everything else to pydicom. Over every
file of pydicom's corpus, the RI's samples and a synthetic CT series, a file
it reads must come out equal to ``dcmread``'s reading in every attribute of
the data set (elements in the same order, file meta, preamble, encodings),
so nothing that consumes the data set can tell the two apart.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from mintstore.convert.reading import _read_quickly, read_part10
from mintstore.convert.roundtrip import pydicom_corpus
from mintstore.errors import InvalidDicom
from mintstore.synthetic import write_ct_series
from tests.shared_data import ri_testdata


def _differences(expected: Dataset, got: Dataset) -> list[str]:
    mine, theirs = vars(got), vars(expected)
    names = (set(mine) | set(theirs)) - {"buffer"}  # each reading has its own stream
    found = [name for name in sorted(names) if mine.get(name) != theirs.get(name)]
    if list(got._dict.items()) != list(expected._dict.items()):
        found.append("elements or their order")
    return found


def test_the_quick_reading_equals_pydicoms_over_every_corpus_file(tmp_path: Path) -> None:
    series = write_ct_series(tmp_path, 3, rows=64, columns=64, seed=1)
    files = [*pydicom_corpus(), *sorted(ri_testdata().rglob("*.dcm")), *series.paths]
    quick, differing = 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the corpus has files pydicom warns about
        for path in files:
            data = path.read_bytes()
            got = _read_quickly(data, io.BytesIO(data))
            if got is None:
                continue
            quick += 1
            found = _differences(dcmread(io.BytesIO(data)), got)
            if found:
                differing.append(f"{path.name}: {', '.join(found)}")
    assert differing == []
    assert quick >= 150  # the common case really is read quickly


def test_files_it_does_not_read_exactly_are_left_to_pydicom() -> None:
    corpus = {path.name: path for path in pydicom_corpus()}
    for name in ("image_dfl.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm"):
        data = corpus[name].read_bytes()
        assert _read_quickly(data, io.BytesIO(data)) is None, name
        assert read_part10(data) is not None  # and they still read, through pydicom


def test_a_large_pixel_data_value_is_read_without_a_copy(tmp_path: Path) -> None:
    series = write_ct_series(tmp_path, 1, seed=1)
    data = series.paths[0].read_bytes()
    ds = read_part10(data)
    pixels = ds.get_item(0x7FE00010).value
    assert isinstance(pixels, memoryview) and pixels.obj is data
    assert pixels == dcmread(io.BytesIO(data)).get_item(0x7FE00010).value


def test_a_malformed_file_is_refused_as_before(tmp_path: Path) -> None:
    """What the quick reader cannot read is pydicom's to refuse (InvalidDicom), not a crash."""
    series = write_ct_series(tmp_path, 1, rows=64, columns=64, seed=1)
    data = bytearray(series.paths[0].read_bytes())
    meta_length = data.index(b"\x08\x00", 132)  # where the data set starts
    broken = bytes(data[:meta_length]) + b"\x08\x00\x05\x00SQ\x00\x00\xff\xff\xff\xff" + b"\x01"
    with pytest.raises(InvalidDicom):
        read_part10(broken)
    assert _read_quickly(broken, io.BytesIO(broken)) is None
