"""StudyPart10Writer writes exactly what instance_to_dataset + write_part10 write.

Over every file of pydicom's corpus that converts (each written twice by one
writer, so the second write comes from its cache of encoded elements), and
over a synthetic series where most elements are shared by its instances.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest

from mintstore.convert import StudyBuilder, read_part10
from mintstore.convert.roundtrip import pydicom_corpus
from mintstore.convert.study_files import StudyPart10Writer
from mintstore.convert.to_dicom import instance_to_dataset, write_part10
from mintstore.errors import MintError
from mintstore.model import Study
from mintstore.synthetic import write_ct_series

CORPUS = pydicom_corpus()


def _general(study: Study, series_uid: str, sop_uid: str, items: dict[int, bytes]) -> bytes:
    out = io.BytesIO()
    write_part10(instance_to_dataset(study, series_uid, sop_uid, items.__getitem__), out)
    return out.getvalue()


def _shared(writer: StudyPart10Writer, series_uid: str, sop_uid: str) -> bytes:
    out = io.BytesIO()
    writer.write(series_uid, sop_uid, out)
    return out.getvalue()


def _built(paths: list[Path]) -> tuple[Study, dict[int, bytes]] | None:
    builder = StudyBuilder()
    items: dict[int, bytes] = {}
    try:
        for path in paths:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                items.update((bid, bytes(c)) for bid, c in builder.add_dataset(read_part10(path)))
    except MintError:
        return None  # unreadable, truncated, no UIDs: not this test's business
    return builder.study, items


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file_is_written_the_same(path: Path) -> None:
    built = _built([path])
    if built is None:
        return
    study, items = built
    writer = StudyPart10Writer(study, items.__getitem__)
    for series in study.series.values():
        for sop in series.instances:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = _general(study, series.series_instance_uid, sop, items)
                assert _shared(writer, series.series_instance_uid, sop) == expected
                assert _shared(writer, series.series_instance_uid, sop) == expected  # cached


def test_instances_of_a_series_come_back_as_their_source_files(tmp_path: Path) -> None:
    series_files = write_ct_series(tmp_path, 6, rows=8, columns=8, seed=1)
    builder = StudyBuilder()
    items: dict[int, bytes] = {}
    for path in series_files.paths:
        items.update((bid, bytes(c)) for bid, c in builder.add_dataset(read_part10(path)))
    study = builder.study
    writer = StudyPart10Writer(study, items.__getitem__)
    uid = series_files.series_instance_uid
    for sop, path in zip(series_files.sop_instance_uids, series_files.paths, strict=True):
        written = _shared(writer, uid, sop)
        assert written == _general(study, uid, sop, items)
        assert written == Path(path).read_bytes()


def test_native_pixel_data_that_looks_like_a_fragment_comes_back_whole(tmp_path: Path) -> None:
    # Native pixel data whose first bytes happen to be an item tag has a defined
    # length: the shared writer must keep it as it is, like the general one.
    [path] = write_ct_series(tmp_path, 1, rows=8, columns=8, seed=2).paths
    dataset = pydicom.dcmread(path)
    pixels = bytearray(dataset.PixelData)
    pixels[:4] = b"\xfe\xff\x00\xe0"
    dataset.PixelData = bytes(pixels)
    dataset.save_as(path)
    built = _built([path])
    assert built is not None
    study, items = built
    writer = StudyPart10Writer(study, items.__getitem__)
    [series] = study.series.values()
    [sop] = series.instances
    written = _shared(writer, series.series_instance_uid, sop)
    assert written == _general(study, series.series_instance_uid, sop, items)
    assert pydicom.dcmread(io.BytesIO(written)).PixelData == bytes(pixels)
