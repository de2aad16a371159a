"""verify, gc and reindex on Dask, sharded by study key.

A study's key is a hex SHA-256, so ``studies/<h>`` for the 16 hex digits
``h`` cuts the archive into 16 even shards, each listed by its own task
(two hex digits, 256 shards, once an archive is large: ``shard_digits``).

* reindex: ``upto`` = the change log's tail is read first; then each shard
  task backfills missing change-log entries and returns its studies' head
  rows (an Arrow table); the driver writes them as one new manifest
  generation. A commit during the job is either in a row or after ``upto``
  (readers fold it from the log), never lost.
* verify: each shard task runs the engine's verify on its studies and
  returns the digests they reference, grouped by the first hex digit; 16
  blob-shard tasks then list ``blobs/sha256/<h>`` and report orphans.
* gc: the same references; the blob-shard tasks delete what no live study
  references once older than the grace (re-checking each blob's age right
  before deleting, as the engine's gc does).

Blob-shard tasks receive only their own slice of every study shard's
references (Dask moves those slices between workers, not the driver).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pyarrow as pa

from mintstore.errors import NotFound
from mintstore.store import StoreConfig, partitions
from mintstore.store.layout import BLOB_PREFIX, STUDIES_PREFIX, digest_of_blob_key
from mintstore.store.types import GcReport, VerifyProblem, VerifyReport

from .cluster import ClusterOptions, dask_client
from .tasks import worker_store

HEX = "0123456789abcdef"


def shards(digits: int) -> list[str]:
    found = [""]
    for _ in range(digits):
        found = [prefix + h for prefix in found for h in HEX]
    return found


def shard_versions(objects: Any, shard: str) -> dict[str, int]:
    """Study key -> newest version of the studies in one shard (one listing)."""
    newest: dict[str, int] = defaultdict(lambda: -1)
    for info in objects.list(f"{STUDIES_PREFIX}{shard}"):
        parts = info.key.split("/")
        if len(parts) == 4 and parts[2] == "log" and parts[3].endswith(".json"):
            stem = parts[3][:-5]
            if stem.isdigit():
                newest[parts[1]] = max(newest[parts[1]], int(stem))
    return dict(newest)


# --- tasks ---------------------------------------------------------------------------


def reindex_shard(shard: str, url: str, environ: Mapping[str, str], config: StoreConfig) -> Any:
    store = worker_store(url, environ, config)
    jobs = store.archive_jobs
    rows = []
    for skey, newest in shard_versions(store.objects, shard).items():
        jobs.backfill_changes(skey, newest)
        rows.append((skey, jobs.head_row(skey, newest)))
    return partitions.rows_table(rows)


@dataclass
class ShardCheck:
    report: VerifyReport
    references: dict[str, list[str]] = field(default_factory=dict)  # blob shard -> digests


def check_shard(
    shard: str, url: str, environ: Mapping[str, str], config: StoreConfig, deep: bool | None
) -> ShardCheck:
    """Verify (unless ``deep`` is None: gc) the shard's studies; return their references."""
    store = worker_store(url, environ, config)
    versions = shard_versions(store.objects, shard)
    if deep is None:
        report = VerifyReport(studies=len(versions))
    else:
        report = store.archive_jobs.verify_studies(set(versions), deep=deep)
    grouped: dict[str, list[str]] = defaultdict(list)
    for skey, newest in versions.items():
        try:
            digests = store.archive_jobs.references_of(skey, newest)
        except NotFound:
            continue  # a missing version is already a verify problem
        for digest in digests:
            grouped[digest[:1]].append(digest)
    return ShardCheck(report, dict(grouped))


def blob_shard(
    url: str,
    environ: Mapping[str, str],
    config: StoreConfig,
    prefix: str,
    grace: timedelta | None,
    *references: list[str] | None,
) -> GcReport:
    """Orphans under ``blobs/sha256/<prefix>``; deleted when ``grace`` is given."""
    store = worker_store(url, environ, config)
    objects = store.objects
    referenced = {digest for part in references if part for digest in part}
    report = GcReport()
    cutoff = config.clock() - grace if grace is not None else None
    for info in objects.list(f"{BLOB_PREFIX}{prefix}"):
        digest = digest_of_blob_key(info.key)
        if digest is None or digest in referenced:
            continue
        if cutoff is None:
            report.deleted.append(digest)  # verify: reported, not deleted
            continue
        if info.last_modified is None or info.last_modified > cutoff:
            report.kept_young += 1
            continue
        try:
            info = objects.head(info.key)
        except NotFound:
            continue
        if info.last_modified is None or info.last_modified > cutoff:
            report.kept_young += 1
            continue
        objects.delete(info.key)
        report.deleted.append(digest)
        report.bytes_freed += info.size
    return report


# --- drivers -------------------------------------------------------------------------


def _environ(cluster: ClusterOptions, environ: Mapping[str, str]) -> Mapping[str, str]:
    return {} if cluster.scheduler else dict(environ)


def run_reindex(
    url: str,
    environ: Mapping[str, str],
    config: StoreConfig,
    cluster: ClusterOptions,
    shard_digits: int = 1,
) -> int:
    """Rebuild the index from the studies on the cluster; returns the manifest's upto."""
    from .tasks import worker_store as local_store

    store = local_store(url, environ, config)
    upto = store.archive_jobs.change_log_tail()
    task_environ = _environ(cluster, environ)
    with dask_client(cluster) as client:
        futures = client.map(
            reindex_shard,
            shards(shard_digits),
            url=url,
            environ=task_environ,
            config=config,
            pure=False,
        )
        tables = client.gather(futures)
    table = pa.concat_tables(tables) if tables else partitions.rows_table([])
    store.index_maintenance.replace_table(table, upto)
    return upto


def _check(
    url: str,
    environ: Mapping[str, str],
    config: StoreConfig,
    cluster: ClusterOptions,
    *,
    deep: bool | None,
    grace: timedelta | None,
    shard_digits: int,
) -> tuple[list[ShardCheck], list[GcReport]]:
    task_environ = _environ(cluster, environ)
    with dask_client(cluster) as client:
        checks = client.map(
            check_shard,
            shards(shard_digits),
            url=url,
            environ=task_environ,
            config=config,
            deep=deep,
            pure=False,
        )
        slices = {
            prefix: [client.submit(_references_for, check, prefix, pure=False) for check in checks]
            for prefix in HEX
        }
        blobs = [
            client.submit(
                blob_shard, url, task_environ, config, prefix, grace, *slices[prefix], pure=False
            )
            for prefix in HEX
        ]
        return client.gather(checks), client.gather(blobs)


def _references_for(check: ShardCheck, prefix: str) -> list[str] | None:
    return check.references.get(prefix)


def run_verify(
    url: str,
    environ: Mapping[str, str],
    config: StoreConfig,
    cluster: ClusterOptions,
    *,
    deep: bool = True,
    shard_digits: int = 1,
) -> VerifyReport:
    checks, blobs = _check(
        url, environ, config, cluster, deep=deep, grace=None, shard_digits=shard_digits
    )
    total = VerifyReport()
    for check in checks:
        part = check.report
        total.studies += part.studies
        total.versions += part.versions
        total.blobs_checked += part.blobs_checked
        total.backfilled_changes += part.backfilled_changes
        total.problems.extend(part.problems)
    for blob in blobs:
        total.orphans.extend(blob.deleted)
    total.problems.sort(key=_problem_order)
    return total


def _problem_order(problem: VerifyProblem) -> tuple[str, int, str]:
    return (problem.study_uid, problem.version, problem.digest)


def run_gc(
    url: str,
    environ: Mapping[str, str],
    config: StoreConfig,
    cluster: ClusterOptions,
    grace: timedelta,
    *,
    shard_digits: int = 1,
) -> GcReport:
    _, blobs = _check(
        url, environ, config, cluster, deep=None, grace=grace, shard_digits=shard_digits
    )
    total = GcReport()
    for blob in blobs:
        total.deleted.extend(blob.deleted)
        total.bytes_freed += blob.bytes_freed
        total.kept_young += blob.kept_young
    return total
