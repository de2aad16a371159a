"""Conversion throughput against bare pydicom on the same files, in the same run.

Usage: python bench/convert.py [--slices N] [--repeat R]

Writes N synthetic 512x512 CT slices to a temporary directory, then measures
(best of R runs, wall clock):

* DICOM -> MINT: StudyBuilder.add_part10 over every file (items returned and
  dropped, as an ingest would after writing them) vs. pydicom's dcmread of the
  same files;
* MINT -> DICOM: instance_to_dataset + write_part10 into memory vs. pydicom's
  dcmwrite of the already-read datasets.

Prints instances/s, MB/s and the ratio to bare pydicom (goal: within 2x).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite

from mintstore.convert import StudyBuilder, instance_to_dataset, write_part10
from mintstore.model import Study
from mintstore.synthetic import write_ct_series


def _best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def _line(label: str, seconds: float, count: int, megabytes: float, baseline: float | None) -> None:
    ratio = f"{seconds / baseline:5.2f}x pydicom" if baseline else "(baseline)"
    print(
        f"{label:34} {seconds:7.3f} s {count / seconds:9.0f} inst/s "
        f"{megabytes / seconds:8.1f} MB/s  {ratio}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        series = write_ct_series(Path(directory), args.slices, seed=1)
        print(f"wrote {args.slices} synthetic slices in {time.perf_counter() - started:.2f} s")
        paths = series.paths
        data = [p.read_bytes() for p in paths]  # both sides read from memory
        megabytes = sum(len(d) for d in data) / 1e6

        def bare_read() -> list[Dataset]:
            return [dcmread(io.BytesIO(d)) for d in data]

        def to_mint() -> tuple[Study, dict[int, bytes]]:
            builder = StudyBuilder()
            items: dict[int, bytes] = {}
            for d in data:
                for bid, content in builder.add_part10(d):
                    items[bid] = content  # type: ignore[assignment]
            return builder.study, items

        read_time = _best(args.repeat, bare_read)
        mint_time = _best(args.repeat, to_mint)

        datasets = bare_read()
        study, items = to_mint()
        uids = [(s.series_instance_uid, i) for s in study.series.values() for i in s.instances]

        def bare_write() -> None:
            for ds in datasets:
                dcmwrite(io.BytesIO(), ds)

        def to_dicom() -> None:
            for series_uid, sop in uids:
                ds = instance_to_dataset(study, series_uid, sop, items.__getitem__)
                write_part10(ds, io.BytesIO())

        write_time = _best(args.repeat, bare_write)
        dicom_time = _best(args.repeat, to_dicom)

    count = len(data)
    print(f"{count} instances, {megabytes:.1f} MB, best of {args.repeat}")
    _line("pydicom dcmread", read_time, count, megabytes, None)
    _line("DICOM -> MINT (StudyBuilder)", mint_time, count, megabytes, read_time)
    _line("pydicom dcmwrite", write_time, count, megabytes, None)
    _line("MINT -> DICOM (rebuild + write)", dicom_time, count, megabytes, write_time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
