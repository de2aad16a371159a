"""``verify``, ``gc`` and ``reindex``: maintenance run directly against a store.

These work on the bucket itself (not through a server) because they walk all
of it; any number of servers may keep serving meanwhile. With ``--workers`` or
``--scheduler`` they run on Dask, sharded by study key (mintstore.bulk.sharded).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from mintstore.store import StoreConfig, StudyStore, open_study_store

from .bulk import add_cluster_options, cluster_options


def register(subparsers: Any) -> None:
    """Add ``verify``, ``gc`` and ``reindex``."""
    verify = subparsers.add_parser("verify", help="check every committed reference and digest")
    verify.add_argument("--store", required=True, help="store URL")
    _sharding(verify)
    verify.set_defaults(handler=run_verify)

    gc = subparsers.add_parser("gc", help="delete content no commit references")
    gc.add_argument("--store", required=True, help="store URL")
    gc.add_argument("--grace-hours", type=float, default=24.0, help="keep younger blobs")
    gc.add_argument(
        "--job-retention-days", type=float, default=7.0, help="keep younger RI job records"
    )
    _sharding(gc)
    gc.set_defaults(handler=run_gc)

    reindex = subparsers.add_parser("reindex", help="rebuild the search index from the studies")
    reindex.add_argument("--store", required=True, help="store URL")
    _sharding(reindex)
    reindex.set_defaults(handler=run_reindex)


def _sharding(parser: argparse.ArgumentParser) -> None:
    add_cluster_options(parser)
    parser.set_defaults(workers=None)  # no --workers and no --scheduler: in this process
    parser.add_argument(
        "--shard-digits", type=int, default=1, help="hex digits per study-key shard (1: 16)"
    )


def _on_dask(args: argparse.Namespace) -> bool:
    return args.workers is not None or args.scheduler is not None


def _dask_cluster(args: argparse.Namespace) -> Any:
    if args.workers is None:
        args.workers = 1
    return cluster_options(args)


def _open(args: argparse.Namespace, environ: Mapping[str, str]) -> StudyStore:
    return open_study_store(args.store, environ)


def run_verify(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Exit 1 if any committed reference is missing or corrupt."""
    if _on_dask(args):
        from mintstore.bulk.sharded import run_verify as sharded_verify

        report = sharded_verify(
            args.store, environ, StoreConfig(), _dask_cluster(args), shard_digits=args.shard_digits
        )
    else:
        report = _open(args, environ).verify()
    print(
        f"{report.studies} studies, {report.versions} versions, {report.blobs_checked} blobs "
        f"checked, {len(report.problems)} problems, {len(report.orphans)} orphans; "
        f"{report.backfilled_changes} change-log entries backfilled, "
        f"{report.pending_changes} pending"
    )
    for problem in report.problems:
        print(f"PROBLEM {problem.study_uid} v{problem.version} {problem.digest}: {problem.problem}")
    return 0 if report.ok else 1


def run_gc(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Delete unreferenced content older than the grace period."""
    grace = timedelta(hours=args.grace_hours)
    config = StoreConfig(gc_grace=grace, job_retention=timedelta(days=args.job_retention_days))
    if _on_dask(args):
        from mintstore.bulk.sharded import run_gc as sharded_gc

        report = sharded_gc(
            args.store, environ, config, _dask_cluster(args), grace, shard_digits=args.shard_digits
        )
        store = open_study_store(args.store, environ, config)
        try:
            report.jobs_deleted = store.expire_jobs()
        finally:
            store.close()
    else:
        report = open_study_store(args.store, environ, config).gc(grace)
    print(
        f"deleted {len(report.deleted)} blobs ({report.bytes_freed} bytes); "
        f"kept {report.kept_young} young; deleted {report.jobs_deleted} expired job records"
    )
    return 0


def run_reindex(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Rebuild the search manifests from the studies' commit records."""
    if _on_dask(args):
        from mintstore.bulk.sharded import run_reindex as sharded_reindex

        result = sharded_reindex(
            args.store, environ, StoreConfig(), _dask_cluster(args), args.shard_digits
        )
    else:
        result = _open(args, environ).reindex()
    print(f"reindexed: {result}")
    return 0
