"""``mintstore import``: bulk import of an archive on Dask (see docs/bulk.md)."""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mintstore.store import StoreConfig


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--threads`` and ``--scheduler``, shared by every bulk job."""
    parser.add_argument(
        "--workers", type=int, default=1, help="local Dask worker processes (default: 1)"
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per local worker (default: 4)"
    )
    parser.add_argument(
        "--scheduler", help="tcp://HOST:PORT of a Dask scheduler (default: a local cluster)"
    )


def cluster_options(args: argparse.Namespace) -> Any:
    from mintstore.bulk.cluster import ClusterOptions

    return ClusterOptions(
        workers=max(1, args.workers), threads=max(1, args.threads), scheduler=args.scheduler
    )


def register(subparsers: Any) -> None:
    """Add ``import``."""
    parser = subparsers.add_parser(
        "import", help="import a folder tree or bucket prefix of DICOM files (Dask)"
    )
    parser.add_argument("source", help="a folder, or a store URL of a bucket prefix")
    parser.add_argument("--store", required=True, help="target store URL")
    add_cluster_options(parser)
    parser.add_argument("--report", type=Path, help="report file (.csv or .parquet)")
    parser.add_argument(
        "--scan-cache",
        type=Path,
        help="scanned headers kept for a re-run (default: one per source and store "
        "in the temporary directory)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Exit 1 if any file was refused (each is listed in the report)."""
    from mintstore.bulk.importer import ImportOptions
    from mintstore.bulk.importer import run_import as import_archive

    cache = args.scan_cache
    if cache is None:
        tag = hashlib.sha256(f"{Path(args.source).resolve()}|{args.store}".encode()).hexdigest()
        cache = Path(tempfile.gettempdir()) / f"mintstore-import-{tag[:16]}.scan.parquet"
    summary = import_archive(
        args.source,
        args.store,
        environ,
        StoreConfig(),
        cluster_options(args),
        ImportOptions(report=args.report, scan_cache=cache, progress=not args.quiet),
        say=lambda line: print(line, file=sys.stderr),
    )
    print(summary.text())
    print(f"time: {summary.timings()}")
    if args.report is not None:
        print(f"report: {args.report}")
    return 1 if summary.refused else 0
