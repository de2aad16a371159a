"""``push``, ``pull``, ``search`` and ``copy``: talking to a server over HTTP.

``push`` groups files by study (reading only each file's header) and sends
the studies in parallel, in batches, with a progress bar over bytes. The
server ignores instances it already has, so an interrupted push is resumed
by running it again.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mintstore.client import MintClient, StudyResult
from mintstore.errors import InvalidInput, MintError

BATCH_FILES = 50


def register(subparsers: Any) -> None:
    """Add ``push``, ``pull``, ``search`` and ``copy``."""
    push = subparsers.add_parser("push", help="send DICOM files/folders to a server")
    push.add_argument("paths", nargs="+", type=Path)
    _server_options(push)
    push.add_argument("--jobs", type=int, default=4, help="studies sent in parallel")
    push.add_argument("--quiet", action="store_true", help="no progress bar")
    push.set_defaults(handler=run_push)

    pull = subparsers.add_parser("pull", help="get a study back as Part-10 files")
    pull.add_argument("study")
    pull.add_argument("directory", type=Path)
    _server_options(pull)
    pull.set_defaults(handler=run_pull)

    search = subparsers.add_parser("search", help="search a server (name=value parameters)")
    search.add_argument("parameters", nargs="*", metavar="NAME=VALUE")
    _server_options(search)
    search.set_defaults(handler=run_search)

    copy = subparsers.add_parser("copy", help="copy or move a study to another store or server")
    copy.add_argument("study")
    copy.add_argument("target", help="a store name configured on the server, or a server URL")
    copy.add_argument("--move", action="store_true")
    _server_options(copy)
    copy.set_defaults(handler=run_copy)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="server URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", help="bearer token (default: $MINTSTORE_TOKEN)")


def _client(args: argparse.Namespace, environ: Mapping[str, str]) -> MintClient:
    return MintClient(args.url, token=args.token or environ.get("MINTSTORE_TOKEN"))


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Every regular file under the given files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise InvalidInput(f"no such file or folder: {path}")


def group_by_study(files: Iterator[Path]) -> tuple[dict[str, list[Path]], list[Path]]:
    """Files per Study Instance UID, reading headers only; the unreadable ones apart."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    studies: dict[str, list[Path]] = defaultdict(list)
    skipped: list[Path] = []
    for path in files:
        try:
            dataset = dcmread(path, stop_before_pixels=True, specific_tags=["StudyInstanceUID"])
            studies[str(dataset.StudyInstanceUID)].append(path)
        except (InvalidDicomError, AttributeError, OSError, ValueError):
            skipped.append(path)
    return dict(studies), skipped


def run_push(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Send every DICOM file found; print one line per study."""
    from tqdm import tqdm

    client = _client(args, environ)
    studies, skipped = group_by_study(iter_files(args.paths))
    for path in skipped:
        print(f"skipped (not DICOM): {path}", file=sys.stderr)
    total = sum(path.stat().st_size for files in studies.values() for path in files)
    with tqdm(total=total, unit="B", unit_scale=True, disable=args.quiet, file=sys.stderr) as bar:

        def send(files: list[Path]) -> list[StudyResult]:
            results: list[StudyResult] = []
            for start in range(0, len(files), BATCH_FILES):
                results = client.push_files(files[start : start + BATCH_FILES], bar.update)
            return results

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(send, studies.values()))
    for study_uid, results in zip(studies, outcomes, strict=True):
        version = results[-1].version if results else "?"
        print(f"{study_uid} version {version} ({len(studies[study_uid])} files)")
    return 1 if skipped else 0


def run_pull(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Write a study's instances into a directory."""
    written = _client(args, environ).pull(args.study, args.directory)
    print(f"{len(written)} files written to {args.directory}")
    return 0


def run_search(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Print one line per matching study: UID, version, last modified."""
    parameters: dict[str, str | int] = {}
    for entry in args.parameters:
        name, equals, value = entry.partition("=")
        if not equals:
            raise InvalidInput(f"search parameters are NAME=VALUE, not {entry!r}")
        parameters[name] = value
    for hit in _client(args, environ).search(**parameters):
        print(f"{hit.study_uid}\t{hit.version}\t{hit.last_modified}")
    return 0


def run_copy(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Ask the server to copy or move a study; print its report."""
    report = _client(args, environ).copy(args.study, args.target, move=args.move)
    print(" ".join(f"{key}={value}" for key, value in report.items()))
    return 0


__all__ = ["MintError", "register"]
