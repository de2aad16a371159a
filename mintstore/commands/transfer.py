"""``push``, ``pull``, ``search`` and ``copy``: talking to a server over HTTP.

``push`` groups files by study (reading only each file's header) and sends
the studies in parallel, in batches, with a progress bar over bytes. The
server ignores instances it already has, so an interrupted push is resumed
by running it again.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mintstore.client import MintClient, StudyResult
from mintstore.errors import ConfigurationError, InvalidInput, MintError, VersionConflict

BATCH_FILES = 50


def register(subparsers: Any) -> None:
    """Add ``push``, ``pull``, ``search`` and ``copy``."""
    push = subparsers.add_parser(
        "push",
        help="send DICOM files/folders to a server",
        description="Send every DICOM file under the given files and folders, grouped by "
        "study. Refused files are reported with their reason and the push goes on; the exit "
        "status is 1 if any file was refused. Running it again resumes: the server ignores "
        "instances it already holds.",
    )
    push.add_argument("paths", nargs="+", type=Path)
    _server_options(push)
    push.add_argument(
        "--jobs", type=_positive, default=4, help="studies sent in parallel (default: 4)"
    )
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
    parser.add_argument(
        "--url", help="server URL, e.g. http://127.0.0.1:8080 (default: $MINTSTORE_URL)"
    )
    parser.add_argument("--token", help="bearer token (default: $MINTSTORE_TOKEN)")


def _client(args: argparse.Namespace, environ: Mapping[str, str]) -> MintClient:
    url = args.url or environ.get("MINTSTORE_URL")
    if not url:
        raise ConfigurationError("no server given: use --url URL or set MINTSTORE_URL")
    args.url = url  # error messages name the server
    return MintClient(url, token=args.token or environ.get("MINTSTORE_TOKEN"))


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 256:
        raise argparse.ArgumentTypeError(f"wants a number from 1 to 256, not {text!r}")
    return int(text)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Every regular file under the given files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise InvalidInput(f"no such file or folder: {path}")


def _reason_of_header(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def group_by_study(files: Iterator[Path]) -> tuple[dict[str, list[Path]], list[Refusal]]:
    """Files per Study Instance UID, reading headers only; the unreadable ones apart.

    Files without the 128-byte preamble and ``DICM`` are read too (pydicom's
    ``force``): the server accepts them when their content is DICOM.
    """
    import warnings

    from pydicom import dcmread

    studies: dict[str, list[Path]] = defaultdict(list)
    refused: list[Refusal] = []
    wanted = ["StudyInstanceUID", "SOPInstanceUID", "SOPClassUID"]
    for path in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dataset = dcmread(path, stop_before_pixels=True, specific_tags=wanted, force=True)
            study_uid = dataset.get("StudyInstanceUID")
            is_instance = "SOPInstanceUID" in dataset or "SOPClassUID" in dataset
        except Exception as exc:  # whatever pydicom makes of a file that is not DICOM
            refused.append(Refusal(path, "not DICOM", _reason_of_header(exc)))
            continue
        if not study_uid:
            if is_instance:
                refused.append(Refusal(path, "no Study Instance UID", "its header has none"))
            else:
                refused.append(Refusal(path, "not DICOM", "no DICOM instance header found"))
            continue
        studies[str(study_uid)].append(path)
    return dict(studies), refused


@dataclass(frozen=True)
class Refusal:
    """A file that was not stored, with the kind of reason (for the summary) and its text."""

    path: Path
    kind: str
    message: str


@dataclass
class PushReport:
    """What a push stored and what it refused; thread-safe."""

    studies: set[str] = field(default_factory=set)
    instances: int = 0
    bytes_sent: int = 0
    refused: list[Refusal] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stored(self, files: list[Path], results: list[StudyResult]) -> None:
        with self.lock:
            self.instances += len(files)
            self.bytes_sent += sum(path.stat().st_size for path in files)
            self.studies.update(result.study_uid for result in results)

    def refuse(self, refusal: Refusal) -> None:
        with self.lock:
            self.refused.append(refusal)

    def by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for refusal in self.refused:
            counts[refusal.kind] += 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


#: Server answers that refuse the content of a request (the next file may be fine);
#: anything else (unreachable, no access, a server failure) stops the push.
REFUSALS = (InvalidInput, VersionConflict)


def _kind_of(error: MintError) -> str:
    """A short reason for the summary (the full message goes on the file's own line)."""
    message = str(error)
    if "is already in the study" in message:
        return "duplicate SOP Instance UID"
    if isinstance(error, InvalidInput) and message.startswith("HTTP "):
        return message.split(":", 1)[0]  # e.g. HTTP 413
    if isinstance(error, VersionConflict):
        return "version conflict"
    return {"InvalidDicom": "invalid DICOM", "InvalidUID": "invalid UID"}.get(
        type(error).__name__, "refused"
    )


def send_study(
    client: MintClient, files: list[Path], report: PushReport, on_bytes: Callable[[int], None]
) -> None:
    """Send one study in batches; a refused batch is retried file by file to find the culprits."""
    for start in range(0, len(files), BATCH_FILES):
        batch = files[start : start + BATCH_FILES]
        try:
            report.stored(batch, client.push_files(batch, on_bytes))
            continue
        except REFUSALS as error:
            if len(batch) == 1:
                report.refuse(Refusal(batch[0], _kind_of(error), str(error)))
                continue
        for path in batch:
            try:
                report.stored([path], client.push_files([path]))
            except REFUSALS as error:
                report.refuse(Refusal(path, _kind_of(error), str(error)))


def run_push(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Send every DICOM file found; report each refused file; print a summary.

    Exit status 0 when every file was stored, 1 when any was refused. The
    server ignores instances it already holds, so running the same push
    again resumes an interrupted one.
    """
    from tqdm import tqdm

    client = _client(args, environ)
    files = list(iter_files(args.paths))
    studies, unreadable = group_by_study(iter(files))
    report = PushReport()
    for refusal in unreadable:
        report.refuse(refusal)
    total = sum(path.stat().st_size for files in studies.values() for path in files)
    progress = tqdm(total=total, unit="B", unit_scale=True, disable=args.quiet, file=sys.stderr)
    with progress as bar, ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [
            pool.submit(send_study, client, study_files, report, bar.update)
            for study_files in studies.values()
        ]
        for future in futures:
            future.result()
    for refusal in sorted(report.refused, key=lambda r: str(r.path)):
        print(f"refused {refusal.path}: {refusal.kind}: {refusal.message}", file=sys.stderr)
    reasons = ", ".join(f"{count} {kind}" for kind, count in report.by_reason().items())
    print(
        f"pushed {report.instances} instances ({report.bytes_sent} bytes) in "
        f"{len(report.studies)} studies; refused {len(report.refused)} files"
        + (f" ({reasons})" if reasons else "")
    )
    return 1 if report.refused else 0


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
