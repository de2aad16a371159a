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

Then the CPU seconds of DICOM -> MINT per instance (``time.process_time`` in a
fresh process: reading, structural walk, extraction and placement, as
``StudyBuilder.add_part10`` does them on ingest), for the CT series (one
builder, as one upload) and for pydicom's corpus (one builder per file).
``--before DIR`` (a checkout of the baseline, e.g. ``git worktree add
/tmp/parse-base main``) alternates that measurement between DIR's tree and
this one for ``--rounds`` rounds (each figure the least of three runs in the
process) and prints the medians, their ratio and the load average: CPU
seconds vary far less than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
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


def _cpu_per_instance(files: list[bytes], keep: bool = False) -> float:
    """CPU seconds per instance of converting ``files`` into one study (as one upload).

    ``keep`` holds every item until the end, as an ingest holds them until
    they are written (so new item memory is touched for each instance).
    """
    kept: list[object] = []
    started = time.process_time()
    builder = StudyBuilder()
    for data in files:
        items = builder.add_part10(data)
        if keep:
            kept.append(items)
    return (time.process_time() - started) / len(files)


def _corpus_cpu() -> tuple[float, int]:
    """CPU seconds converting every readable corpus file (a builder each), and how many."""
    from mintstore.convert.roundtrip import pydicom_corpus
    from mintstore.errors import MintError

    files = [p.read_bytes() for p in pydicom_corpus()]
    converted = 0
    started = time.process_time()
    for data in files:
        try:
            StudyBuilder().add_part10(data)
            converted += 1
        except MintError:
            pass  # unreadable, truncated or without UIDs: refused in both trees
    return time.process_time() - started, converted


def _cpu_worker(directory: Path) -> int:
    """One measurement in this process (whichever tree PYTHONPATH selects); JSON out."""
    import warnings

    import mintstore

    warnings.simplefilter("ignore")  # the corpus has files pydicom warns about
    files = [p.read_bytes() for p in sorted(directory.iterdir())]
    _cpu_per_instance(files[:10])  # first-use imports and caches out of the figure
    # the least of three: other processes on the machine only ever add to a figure
    series = min(_cpu_per_instance(files) for _ in range(3))
    kept = min(_cpu_per_instance(files, keep=True) for _ in range(3))
    corpus, converted = min(_corpus_cpu() for _ in range(3))
    print(
        json.dumps(
            {
                "tree": str(Path(mintstore.__file__).parent.parent),
                "series": series,
                "kept": kept,
                "corpus": corpus,
                "converted": converted,
            }
        )
    )
    return 0


def _measure(directory: Path, tree: Path | None) -> dict[str, float | str]:
    environ = dict(os.environ)
    if tree is not None:
        environ["PYTHONPATH"] = str(tree.resolve())
    out = subprocess.run(
        [sys.executable, __file__, "--cpu-worker", str(directory)],
        env=environ,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float | str] = json.loads(out.splitlines()[-1])
    return result


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def compare_cpu(directory: Path, before: Path | None, rounds: int) -> None:
    """Alternate the CPU measurement between the trees; print medians and ratios."""
    trees: list[tuple[str, Path | None]] = [("after", None)]
    if before is not None:
        trees.insert(0, ("before", before))
    runs: dict[str, list[dict[str, float | str]]] = {name: [] for name, _ in trees}
    print(f"load average before: {_load()}")
    for _ in range(rounds):
        for name, tree in trees:
            runs[name].append(_measure(directory, tree))
    print(f"load average after:  {_load()}  ({rounds} rounds, alternated)")
    figures = {
        "series": "us CPU per CT instance, items dropped",
        "kept": "us CPU per CT instance, items kept (as ingest)",
        "corpus": "us CPU per corpus file",
    }
    medians: dict[str, dict[str, float]] = {}
    for name, results in runs.items():
        print(f"{name}: {results[0]['tree']} (corpus: {results[0]['converted']} files converted)")
        medians[name] = {}
        for figure, label in figures.items():
            scale = 1e6 / (float(results[0]["converted"]) if figure == "corpus" else 1.0)
            values = [float(r[figure]) * scale for r in results]
            medians[name][figure] = statistics.median(values)
            each = ", ".join(f"{v:.0f}" for v in values)
            print(f"  {medians[name][figure]:6.0f} {label} (runs: {each})")
    if before is not None:
        for figure, label in figures.items():
            ratio = medians["after"][figure] / medians["before"][figure]
            print(f"after / before, {label}: {ratio:.2f}x ({(1 - ratio) * 100:.0f}% less)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the CPU figure")
    parser.add_argument("--before", type=Path, help="a baseline source tree to alternate with")
    parser.add_argument("--cpu-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cpu_worker is not None:
        return _cpu_worker(args.cpu_worker)

    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        series = write_ct_series(Path(directory), args.slices, seed=1)
        print(f"wrote {args.slices} synthetic slices in {time.perf_counter() - started:.2f} s")
        compare_cpu(Path(directory), args.before, args.rounds)
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
