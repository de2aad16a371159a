"""``mintstore import``: a folder tree or bucket prefix of Part-10 files into a store.

1. List the source (driver; nothing is opened) and scan headers in parallel
   on the workers (batches of files), unless a scan cache from an earlier
   run already names the file with the same size.
2. Group by Study Instance UID: files of a study may be anywhere.
3. Tasks of a batch of whole studies on the workers: for each study, skip
   the SOP Instance UIDs it already holds, ingest the rest, one commit
   (``tasks.import_studies``).
4. Report: studies, instances added / already stored, bytes, refused files by
   reason, as CSV or Parquet.

Killed and run again, it re-scans nothing the scan cache knows and re-sends
nothing the store holds.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mintstore.store import StoreConfig

from .cluster import ClusterOptions, dask_client
from .report import ImportSummary
from .sources import FileRef, list_source
from .tasks import Scanned, import_studies, scan_batch

SCAN_BATCH = 256
#: Files per import task (a batch of whole studies; a larger study is a task alone).
IMPORT_BATCH = 100
#: ...but at least this many tasks per worker thread, so the threads finish together.
TASKS_PER_THREAD = 4


@dataclass(frozen=True)
class ImportOptions:
    """A bulk import's settings (defaults are the CLI's).

    * ``report`` (None): CSV or .parquet file for the per-study report.
    * ``scan_cache`` (None): Parquet file remembering scanned headers, so a
      re-run after a kill reads no header twice.
    * ``user`` ("import"): the change log's remoteUser for these commits.
    * ``progress`` (True): a progress bar on stderr.
    """

    report: Path | None = None
    scan_cache: Path | None = None
    user: str = "import"
    progress: bool = True


def _load_cache(path: Path | None) -> dict[tuple[str, int], Scanned]:
    if path is None or not path.exists():
        return {}
    import pyarrow.parquet as pq

    known = {}
    for row in pq.read_table(path).to_pylist():
        ref = FileRef(row["name"], row["size"], row["store_url"])
        known[(ref.name, ref.size)] = Scanned(ref, row["study_uid"], row["sop_uid"], row["refused"])
    return known


def _save_cache(path: Path | None, scanned: list[Scanned]) -> None:
    if path is None:
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[Any]] = {
        "name": [s.ref.name for s in scanned],
        "size": [s.ref.size for s in scanned],
        "store_url": [s.ref.store_url for s in scanned],
        "study_uid": [s.study_uid for s in scanned],
        "sop_uid": [s.sop_uid for s in scanned],
        "refused": [s.refused for s in scanned],
    }
    partial = path.with_suffix(path.suffix + ".partial")
    pq.write_table(pa.table(columns), partial)
    partial.replace(path)


def _batches(refs: list[FileRef], size: int) -> Iterator[list[FileRef]]:
    for start in range(0, len(refs), size):
        yield refs[start : start + size]


class PhaseClock:
    """Seconds since the previous lap (the report's per-phase timings)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        seconds, self._last = now - self._last, now
        return seconds


def study_batches(
    order: list[str], studies: Mapping[str, list[Any]], threads: int
) -> list[list[str]]:
    """Consecutive studies of ``order`` in batches of about ``IMPORT_BATCH`` files.

    Coarse tasks keep Dask's per-task cost (scheduling, a result's trip to
    the driver) off small studies; the cap from ``threads`` keeps enough
    tasks for every worker thread to have work until the end.
    """
    files = sum(len(studies[uid]) for uid in order)
    limit = max(1, min(IMPORT_BATCH, files // max(1, threads * TASKS_PER_THREAD)))
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for uid in order:
        if current and size + len(studies[uid]) > limit:
            batches.append(current)
            current, size = [], 0
        current.append(uid)
        size += len(studies[uid])
    if current:
        batches.append(current)
    return batches


def _bar(total: int, unit: str, enabled: bool, label: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit=unit, unit_scale=True, disable=not enabled, file=sys.stderr, desc=label
    )


def run_import(
    source: str,
    store_url: str,
    environ: Mapping[str, str],
    config: StoreConfig,
    cluster: ClusterOptions,
    options: ImportOptions,
    say: Callable[[str], None] = print,
) -> ImportSummary:
    """Import everything under ``source``; returns (and writes) the report."""
    import distributed

    as_completed: Any = distributed.as_completed

    # Tasks on a remote cluster open stores with their own environment.
    task_environ: Mapping[str, str] = {} if cluster.scheduler else dict(environ)
    clock = PhaseClock()
    refs = list(list_source(source, environ))
    cache = _load_cache(options.scan_cache)
    scanned: list[Scanned] = []
    unknown: list[FileRef] = []
    for ref in refs:
        hit = cache.get((ref.name, ref.size))
        if hit is not None:
            scanned.append(hit)
        else:
            unknown.append(ref)
    summary = ImportSummary()
    summary.seconds["list"] = clock.lap()
    with dask_client(cluster) as client:
        summary.seconds["start"] = clock.lap()
        say(f"dask dashboard: {client.dashboard_link}")
        if unknown:
            futures = client.map(
                scan_batch, list(_batches(unknown, SCAN_BATCH)), environ=task_environ, pure=False
            )
            with _bar(len(unknown), "file", options.progress, "scan") as bar:
                for future in as_completed(futures):
                    batch = future.result()
                    scanned.extend(batch)
                    bar.update(len(batch))
            _save_cache(options.scan_cache, scanned)
        summary.add_scan(scanned)
        summary.seconds["scan"] = clock.lap()
        studies: dict[str, list[tuple[FileRef, str]]] = defaultdict(list)
        for item in scanned:
            if item.study_uid is not None and item.sop_uid is not None:
                studies[item.study_uid].append((item.ref, item.sop_uid))
        # Largest studies first: the long tasks start early, the cluster ends together.
        order = sorted(studies, key=lambda uid: -len(studies[uid]))
        threads = sum(client.nthreads().values()) or 1
        batches = study_batches(order, studies, threads)
        futures = [
            client.submit(
                import_studies,
                store_url,
                task_environ,
                config,
                [(uid, studies[uid]) for uid in batch],
                options.user,
                pure=False,
                key=f"import-{batch[0]}",
            )
            for batch in batches
        ]
        total = sum(ref.size for files in studies.values() for ref, _ in files)
        with _bar(total, "B", options.progress, "import") as bar:
            for future in as_completed(futures):
                for outcome in future.result():
                    summary.add_study(outcome)
                    bar.update(sum(ref.size for ref, _ in studies[outcome.study_uid]))
        summary.seconds["import"] = clock.lap()
    summary.seconds["stop"] = clock.lap()
    if options.report is not None:
        summary.write(options.report)
    return summary
