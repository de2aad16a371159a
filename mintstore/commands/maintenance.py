"""``verify``, ``gc`` and ``reindex``: maintenance run directly against a store.

These work on the bucket itself (not through a server) because they walk all
of it; any number of servers may keep serving meanwhile. With ``--workers`` or
``--scheduler`` they run on Dask, sharded by study key (mintstore.bulk.sharded).
They read the same configuration as ``serve`` (``--config`` / ``$MINTSTORE_CONFIG``,
``MINTSTORE_*``): the store URL from ``[http] store`` unless ``--store`` is given,
and every engine tunable from ``[store]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from mintstore.errors import ConfigurationError
from mintstore.store import StoreConfig, StudyStore, migrate_study_store, open_study_store

from .bulk import add_cluster_options, cluster_options


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help="store URL (default: [http] store of the configuration, $MINTSTORE_STORE)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML configuration file, as for serve (default: $MINTSTORE_CONFIG)",
    )


def register(subparsers: Any) -> None:
    """Add ``verify``, ``gc`` and ``reindex``."""
    verify = subparsers.add_parser("verify", help="check every committed reference and digest")
    _store_options(verify)
    _sharding(verify)
    verify.set_defaults(handler=run_verify)

    gc = subparsers.add_parser("gc", help="delete content no commit references")
    _store_options(gc)
    gc.add_argument(
        "--grace-hours",
        type=float,
        help="keep blobs younger than this (default: [store] gc_grace, 24 hours)",
    )
    _sharding(gc)
    gc.set_defaults(handler=run_gc)

    reindex = subparsers.add_parser("reindex", help="rebuild the search index from the studies")
    _store_options(reindex)
    _sharding(reindex)
    reindex.set_defaults(handler=run_reindex)

    migrate = subparsers.add_parser(
        "migrate",
        help="convert a store written before the partitioned change log and index "
        "(idempotent, resumable: run it again after an interruption)",
    )
    _store_options(migrate)
    migrate.set_defaults(handler=run_migrate)


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


def _engine(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, StoreConfig]:
    """The store URL and the engine's tunables, from the flags and the configuration."""
    from .serve import load_configuration
    from .serve_options import HttpOptions

    loaded = load_configuration(argparse.Namespace(config=args.config), environ)
    url = args.store or loaded.get(HttpOptions).store
    if not url:
        raise ConfigurationError(
            "no store given: use --store URL, MINTSTORE_STORE or [http] store in --config"
        )
    args.store = url
    return url, loaded.get(StoreConfig)


def _open(args: argparse.Namespace, environ: Mapping[str, str]) -> StudyStore:
    url, engine = _engine(args, environ)
    return open_study_store(url, environ, engine)


def run_verify(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Exit 1 if any committed reference is missing or corrupt."""
    if _on_dask(args):
        from mintstore.bulk.sharded import run_verify as sharded_verify

        url, engine = _engine(args, environ)
        report = sharded_verify(
            url, environ, engine, _dask_cluster(args), shard_digits=args.shard_digits
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
    url, engine = _engine(args, environ)
    grace = engine.gc_grace
    if args.grace_hours is not None:
        if not 0 <= args.grace_hours < 10**6:
            raise ConfigurationError(f"--grace-hours wants 0 or more hours, not {args.grace_hours}")
        grace = timedelta(hours=args.grace_hours)
    if _on_dask(args):
        from dataclasses import replace

        from mintstore.bulk.sharded import run_gc as sharded_gc

        report = sharded_gc(
            url,
            environ,
            replace(engine, gc_grace=grace),
            _dask_cluster(args),
            grace,
            shard_digits=args.shard_digits,
        )
        store = open_study_store(url, environ, engine)
        try:
            report.jobs_deleted = store.expire_jobs()
        finally:
            store.close()
    else:
        report = open_study_store(url, environ, engine).gc(grace)
    print(
        f"deleted {len(report.deleted)} blobs ({report.bytes_freed} bytes); "
        f"kept {report.kept_young} young; deleted {report.jobs_deleted} expired job records"
    )
    return 0


def run_reindex(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Rebuild the search manifests from the studies' commit records."""
    if _on_dask(args):
        from mintstore.bulk.sharded import run_reindex as sharded_reindex

        url, engine = _engine(args, environ)
        result = sharded_reindex(url, environ, engine, _dask_cluster(args), args.shard_digits)
    else:
        result = _open(args, environ).reindex()
    print(f"reindexed: {result}")
    return 0


def run_migrate(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Convert an old-layout store in place (see mintstore.store.migration)."""
    url, engine = _engine(args, environ)
    report = migrate_study_store(url, environ, engine, progress=print)
    print(
        f"migrated: {report.entries_copied} change-log entries copied "
        f"({report.entries_already_there} already there), {report.studies_indexed} studies "
        f"indexed ({report.rows_filled_from_metadata} rows completed from metadata), "
        f"{report.old_keys_deleted} old keys deleted; change log up to {report.upto}"
    )
    return 0
