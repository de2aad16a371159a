"""``mintstore import``: a folder tree or bucket prefix of Part-10 files into a store.

1. List the source (driver; nothing is opened) and scan headers in parallel
   on the workers (batches of files), unless a scan cache from an earlier
   run already names the file with the same size.
2. Group by Study Instance UID: files of a study may be anywhere.
3. One task per study on the workers: skip the SOP Instance UIDs the study
   already holds, ingest the rest, one commit (``tasks.import_study``).
4. Report: studies, instances added / already stored, bytes, refused files by
   reason, as CSV or Parquet.

Killed and run again, it re-scans nothing the scan cache knows and re-sends
nothing the store holds.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mintstore.store import StoreConfig

from .cluster import ClusterOptions, dask_client
from .report import ImportSummary
from .sources import FileRef, list_source
from .tasks import Scanned, import_study, scan_batch

SCAN_BATCH = 256


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
    with dask_client(cluster) as client:
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
        studies: dict[str, list[tuple[FileRef, str]]] = defaultdict(list)
        for item in scanned:
            if item.study_uid is not None and item.sop_uid is not None:
                studies[item.study_uid].append((item.ref, item.sop_uid))
        # Largest studies first: the long tasks start early, the cluster ends together.
        order = sorted(studies, key=lambda uid: -len(studies[uid]))
        sizes = {uid: sum(ref.size for ref, _ in studies[uid]) for uid in order}
        futures = [
            client.submit(
                import_study,
                store_url,
                task_environ,
                config,
                uid,
                studies[uid],
                options.user,
                pure=False,
                key=f"import-{uid}",
            )
            for uid in order
        ]
        with _bar(sum(sizes.values()), "B", options.progress, "import") as bar:
            for future in as_completed(futures):
                outcome = future.result()
                summary.add_study(outcome)
                bar.update(sizes[outcome.study_uid])
    if options.report is not None:
        summary.write(options.report)
    return summary
