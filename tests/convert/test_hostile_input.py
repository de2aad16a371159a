"""Malformed, truncated and garbage Part-10 input: InvalidDicom, never anything else.

Bounded in time: hypothesis example counts are small and every conversion is
timed, so a pathological slowdown fails instead of hanging the suite.
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mintstore.convert import StudyBuilder, instance_to_dataset, write_part10
from mintstore.convert.roundtrip import PYDICOM_DATA
from mintstore.errors import DuplicateInstance, InvalidDicom

SAMPLES = [
    PYDICOM_DATA / "test_files" / "rtplan.dcm",  # nested sequences
    PYDICOM_DATA / "test_files" / "MR_small.dcm",  # native pixel data
    PYDICOM_DATA / "test_files" / "JPEG2000.dcm",  # encapsulated pixel data
    PYDICOM_DATA / "test_files" / "MR_small_implicit.dcm",
]
BYTES = {path.name: path.read_bytes() for path in SAMPLES}
MAX_SECONDS = 5.0


def _convert_or_reject(data: bytes) -> None:
    """Convert (and rebuild) ``data``; only InvalidDicom may escape."""
    started = time.monotonic()
    builder = StudyBuilder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            items = {bid: bytes(c) for bid, c in builder.add_part10(data)}
        except (InvalidDicom, DuplicateInstance):
            items = None
        if items is not None:  # accepted: it must also rebuild
            study = builder.study
            for series in study.series.values():
                for sop in series.instances:
                    ds = instance_to_dataset(
                        study, series.series_instance_uid, sop, items.__getitem__
                    )
                    write_part10(ds, io.BytesIO())
    assert time.monotonic() - started < MAX_SECONDS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(BYTES)), cut=st.floats(min_value=0.0, max_value=0.999))
def test_truncated_files(name: str, cut: float) -> None:
    data = BYTES[name]
    _convert_or_reject(data[: int(len(data) * cut)])


@pytest.mark.parametrize("name", sorted(BYTES))
def test_truncated_inside_the_last_value_is_rejected(name: str) -> None:
    data = BYTES[name]
    for missing in (1, 2, 7, 100):
        with pytest.raises(InvalidDicom):
            StudyBuilder().add_part10(data[:-missing])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(BYTES)),
    flips=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_corrupted_bytes(name: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(BYTES[name])
    for where, value in flips:
        data[int(len(data) * where)] = value
    _convert_or_reject(bytes(data))


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=2000), with_prefix=st.booleans())
def test_garbage(garbage: bytes, with_prefix: bool) -> None:
    data = (b"\0" * 128 + b"DICM" + garbage) if with_prefix else garbage
    _convert_or_reject(data)


def test_plain_garbage_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(InvalidDicom, match="not a DICOM"):
        StudyBuilder().add_part10(b"this is not DICOM at all" * 10)


def test_missing_file_is_invalid_dicom(tmp_path: Path) -> None:
    with pytest.raises(InvalidDicom, match="cannot read"):
        StudyBuilder().add_part10(tmp_path / "absent.dcm")


class _OneWayStream:
    """A non-seekable stream, like an HTTP request body part: read() only."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        chunk = self._data if size < 0 else self._data[:size]
        self._data = self._data[len(chunk) :]
        return chunk

    def seek(self, *args: object) -> int:
        raise io.UnsupportedOperation("not seekable")


def test_non_seekable_streams_are_read() -> None:
    stream = cast(BinaryIO, _OneWayStream(BYTES["MR_small.dcm"]))
    assert StudyBuilder().add_part10(stream)  # PixelData item
