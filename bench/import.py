"""Benchmark of ``mintstore import`` (Dask) against ``mintstore push`` (bench/import.py).

A synthetic archive (default 2,000 studies x 10 small CT instances = 20,000
DICOM files, scattered over a folder tree, plus non-DICOM and truncated
files) is imported into a fresh file store and into a fresh moto server:

* ``mintstore import`` on a Dask local cluster of 1 and of 2 workers;
* ``mintstore push --jobs 4`` of the same tree to a ``mintstore serve`` on the
  same kind of store (the HTTP path, one machine);
* a resumability run: import with 2 workers killed at about half the
  studies committed, then run again: what the second run re-sent (instances,
  bytes, objects written) against what the full run wrote.

Every run starts on an empty store (moto is reset between runs: its listing
costs grow with the whole bucket, so a shared bucket would slow each later
run). Each run's store is checked afterwards (every study committed), and the
2-worker import's Parquet report and progress bars are checked against the
archive. Prints files/s, MB/s, CPU seconds, scaling efficiency 1 -> 2
workers and the load average. Usage (as a module: bench/requests.py shadows
the requests package):
  .venv/bin/python -m bench.import [--studies 2000] [--instances 10] [--backends file,moto-server]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mintstore.testing.archive import Archive, make_archive
from mintstore.testing.mint_server import ServerProcess
from mintstore.testing.servers import AWS_TEST_ENVIRON, MotoServer

BUCKET = "bench-import"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mintstore.cli", *args]


# --- stores ----------------------------------------------------------------------------


class FileTarget:
    """A new empty directory per run; no server process."""

    name = "file"

    def __init__(self, work: Path) -> None:
        self._work = work
        self._count = 0

    def fresh(self) -> tuple[str, dict[str, str]]:
        self._count += 1
        return f"file://{self._work / f'store-{self._count}'}", {}

    def server_cpu(self) -> float:
        return 0.0


class MotoTarget:
    """moto's S3 server (a thread of this process), reset to empty for every run."""

    name = "moto-server"

    def __init__(self, stack: ExitStack) -> None:
        self._moto = MotoServer()
        stack.enter_context(self._moto)

    def fresh(self) -> tuple[str, dict[str, str]]:
        import boto3

        endpoint = self._moto.endpoint_url
        urllib.request.urlopen(
            urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=60
        ).close()
        client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=AWS_TEST_ENVIRON["AWS_DEFAULT_REGION"],
            aws_access_key_id=AWS_TEST_ENVIRON["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_TEST_ENVIRON["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=BUCKET)
        query = urlencode(
            {"region": AWS_TEST_ENVIRON["AWS_DEFAULT_REGION"], "endpoint_url": endpoint}
        )
        return f"s3://{BUCKET}/mint?{query}", dict(AWS_TEST_ENVIRON)

    def server_cpu(self) -> float:
        """CPU seconds of this process: the moto server thread, nearly all of it."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


@dataclass
class Contents:
    objects: int
    bytes: int
    studies: int  # distinct studies with at least one commit record


def contents(url: str, environ: dict[str, str]) -> Contents:
    from mintstore.adapters import open_store

    objects = size = 0
    studies: set[str] = set()
    with open_store(url, environ) as store:
        for info in store.list(""):
            objects += 1
            size += info.size
            parts = info.key.split("/")
            if len(parts) == 4 and parts[0] == "studies" and parts[2] == "log":
                studies.add(parts[1])
    return Contents(objects, size, len(studies))


def _committed(url: str, environ: dict[str, str]) -> int:
    """Studies with a commit record so far (a cheap poll on the file store)."""
    if url.startswith("file://"):
        root = Path(url[len("file://") :]) / "studies"
        return len({p.parent.parent for p in root.glob("*/log/*.json")}) if root.exists() else 0
    return contents(url, environ).studies


# --- runs ------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    cpu: float  # CPU seconds of the client processes (driver, Dask workers / push, serve)
    server_cpu: float  # of the store server (moto), 0 for the file store
    load: float
    stdout: str
    stderr: str


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(target: Any, action: Any) -> Run:
    cpu, server = _children_cpu(), target.server_cpu()
    started = time.perf_counter()
    done = action()
    seconds = time.perf_counter() - started
    return Run(
        seconds,
        _children_cpu() - cpu,
        target.server_cpu() - server,
        os.getloadavg()[0],
        done.stdout,
        done.stderr,
    )


def import_command(
    archive: Archive, url: str, workers: int, scan_cache: Path, report: Path | None, quiet: bool
) -> list[str]:
    command = _cli(
        "import", str(archive.root), "--store", url, "--workers", str(workers),
        "--scan-cache", str(scan_cache),
    )  # fmt: skip
    if report is not None:
        command += ["--report", str(report)]
    return command + (["--quiet"] if quiet else [])


def dask_import(
    target: Any, archive: Archive, url: str, environ: dict[str, str], workers: int, **kw: Any
) -> Run:
    command = import_command(archive, url, workers, **kw)

    def action() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, env={**os.environ, **environ}, capture_output=True, text=True, check=False
        )

    run = measured(target, action)
    if "studies," not in run.stdout:
        raise SystemExit(f"import failed: {run.stderr[-3000:]}")
    return run


def push(target: Any, archive: Archive, url: str, environ: dict[str, str], work: Path) -> Run:
    def action() -> subprocess.CompletedProcess[str]:
        server = ServerProcess(url, environ=environ, log_path=work / "serve.log")
        try:
            return subprocess.run(
                _cli("push", str(archive.root), "--url", server.url, "--quiet", "--jobs", "4"),
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            server.stop()

    return measured(target, action)


def progress_lines(stderr: str) -> dict[str, str]:
    """The last state of each tqdm bar (``scan``, ``import``)."""
    last: dict[str, str] = {}
    for piece in stderr.replace("\r", "\n").splitlines():
        label = piece.split(":", 1)[0].strip()
        if label in ("scan", "import"):
            last[label] = piece.strip()
    return last


def check_report(report: Path, archive: Archive, stderr: str) -> list[str]:
    """Problems with the Parquet report and the progress bars (empty: all right)."""
    import pyarrow.parquet as pq

    rows = pq.read_table(report).to_pylist()
    studies = [r for r in rows if r["kind"] == "study"]
    refused = Counter(str(r["reason"]).split(":")[0] for r in rows if r["kind"] == "refused")
    problems = []
    if len(studies) != len(archive.studies):
        problems.append(f"{len(studies)} study rows, archive has {len(archive.studies)}")
    if sum(r["added"] for r in studies) != archive.dicom_files:
        problems.append(f"{sum(r['added'] for r in studies)} instances added")
    if sum(r["bytes_sent"] for r in studies) != archive.bytes:
        problems.append(f"{sum(r['bytes_sent'] for r in studies)} bytes, archive {archive.bytes}")
    if refused["NotDicom"] != archive.junk_files:
        problems.append(f"{refused['NotDicom']} NotDicom, {archive.junk_files} junk files")
    skipped = sum(r["skipped"] for r in studies)
    if refused["InvalidDicom"] + skipped != archive.truncated_files:
        problems.append(f"InvalidDicom {refused['InvalidDicom']} + skipped {skipped}")
    if set(refused) - {"NotDicom", "InvalidDicom"}:
        problems.append(f"unexpected refusals {dict(refused)}")
    bars = progress_lines(stderr)
    files = archive.dicom_files + archive.junk_files + archive.truncated_files
    for label in ("scan", "import"):
        if "100%" not in bars.get(label, ""):
            problems.append(f"{label} bar did not end at 100%: {bars.get(label)!r}")
    if bars.get("scan", "").count(_tqdm_count(files)) != 2:
        problems.append(f"scan bar total is not {files} files: {bars.get('scan')!r}")
    print(f"  progress: {bars.get('scan')!r}\n            {bars.get('import')!r}", flush=True)
    print(
        f"  report: {len(studies)} study rows, {sum(r['added'] for r in studies)} instances, "
        f"{sum(r['bytes_sent'] for r in studies)} bytes, refused {dict(refused)}, "
        f"{skipped} files skipped as copies of a stored SOP UID",
        flush=True,
    )
    return problems


def _tqdm_count(count: int) -> str:
    """How tqdm (unit_scale) prints a count: 20300 -> '20.3k'."""
    from tqdm import tqdm

    return str(tqdm.format_sizeof(count, divisor=1000))


def resumability(
    target: Any, archive: Archive, url: str, environ: dict[str, str], work: Path
) -> dict[str, Any]:
    """Kill an import with 2 workers at ~half the studies, then run it again."""
    cache = work / f"scan-resume-{target.name}.parquet"
    command = import_command(archive, url, 2, cache, None, quiet=True)
    process = subprocess.Popen(
        command,
        env={**os.environ, **environ},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    half = len(archive.studies) // 2
    started = time.perf_counter()
    while process.poll() is None and _committed(url, environ) < half:
        time.sleep(0.5 if url.startswith("file://") else 2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - started
    at_kill = contents(url, environ)
    report = work / f"report-resume-{target.name}.csv"
    again = dask_import(
        target, archive, url, environ, 2, scan_cache=cache, report=report, quiet=True
    )
    after = contents(url, environ)
    with report.open() as stream:
        rows = [r for r in csv.DictReader(stream) if r["kind"] == "study"]
    return {
        "killed_after_s": killed_after,
        "at_kill": at_kill,
        "after": after,
        "rerun": again,
        "instances_re_sent": sum(int(r["added"]) for r in rows),
        "bytes_re_sent": sum(int(r["bytes_sent"]) for r in rows),
        "skipped": sum(int(r["skipped"]) for r in rows),
    }


# --- main ------------------------------------------------------------------------------


def _rate(run: Run, files: int, megabytes: float) -> str:
    return (
        f"{run.seconds:.1f} s, {files / run.seconds:.0f} files/s, "
        f"{megabytes / run.seconds:.2f} MB/s, CPU {run.cpu:.0f} s"
        + (f" + store server {run.server_cpu:.0f} s" if run.server_cpu else "")
        + f" | load {run.load:.1f}"
    )


def _check_store(url: str, environ: dict[str, str], archive: Archive) -> Contents:
    found = contents(url, environ)
    if found.studies != len(archive.studies):
        print(f"  !! the store holds {found.studies} of {len(archive.studies)} studies")
    return found


def bench_backend(target: Any, archive: Archive, work: Path, skip_push: bool) -> None:
    files = archive.dicom_files + archive.junk_files + archive.truncated_files
    megabytes = archive.bytes / 1e6
    tag = target.name
    runs: dict[int, Run] = {}
    full: Contents | None = None
    for workers in (1, 2):
        url, environ = target.fresh()
        report = work / f"report-{tag}-{workers}.parquet"
        run = dask_import(
            target, archive, url, environ, workers,
            scan_cache=work / f"scan-{tag}-{workers}.parquet", report=report,
            quiet=workers == 1,
        )  # fmt: skip
        runs[workers] = run
        lines = run.stdout.strip().splitlines()
        print(f"[{tag}] import --workers {workers}: {_rate(run, files, megabytes)}", flush=True)
        print(f"  {lines[0]}\n  {lines[1] if len(lines) > 1 else ''}", flush=True)
        full = _check_store(url, environ, archive)
        print(f"  store: {full.objects} objects, {full.bytes / 1e6:.1f} MB", flush=True)
        if workers == 2:
            problems = check_report(report, archive, run.stderr)
            print(f"  report and progress check: {'; '.join(problems) or 'ok'}", flush=True)
    speedup = runs[1].seconds / runs[2].seconds
    print(
        f"[{tag}] scaling 1 -> 2 workers: {speedup:.2f}x (efficiency {speedup / 2:.0%}) on "
        f"{os.cpu_count()} shared cores; CPU {runs[1].cpu:.0f} s -> {runs[2].cpu:.0f} s",
        flush=True,
    )
    if not skip_push:
        url, environ = target.fresh()
        run = push(target, archive, url, environ, work)
        print(
            f"[{tag}] push --jobs 4 (HTTP, one serve): {_rate(run, files, megabytes)}", flush=True
        )
        print(f"  {run.stdout.strip().splitlines()[-1]} (exit status 1: refusals)", flush=True)
        _check_store(url, environ, archive)
        print(
            f"[{tag}] import / push speed: --workers 1 {run.seconds / runs[1].seconds:.2f}x, "
            f"--workers 2 {run.seconds / runs[2].seconds:.2f}x",
            flush=True,
        )
    url, environ = target.fresh()
    resumed = resumability(target, archive, url, environ, work)
    at_kill, after, rerun = resumed["at_kill"], resumed["after"], resumed["rerun"]
    assert full is not None
    print(
        f"[{tag}] resumability (2 workers): killed after {resumed['killed_after_s']:.0f} s with "
        f"{at_kill.studies} of {len(archive.studies)} studies committed; re-run "
        f"{_rate(rerun, files, megabytes)}",
        flush=True,
    )
    print(
        f"  re-run re-sent {resumed['instances_re_sent']} of {archive.dicom_files} instances "
        f"({resumed['bytes_re_sent'] / 1e6:.1f} of {megabytes:.1f} MB), skipped "
        f"{resumed['skipped']} files by SOP UID; objects written by the re-run "
        f"{after.objects - at_kill.objects} ({(after.bytes - at_kill.bytes) / 1e6:.1f} MB) vs "
        f"{full.objects} ({full.bytes / 1e6:.1f} MB) by a full run; store after: "
        f"{after.studies} studies, {after.objects} objects",
        flush=True,
    )
    print(f"  {rerun.stdout.strip().splitlines()[0]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--backends", default="file,moto-server")
    parser.add_argument("--skip-push", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch, ExitStack() as stack:
        work = Path(scratch)
        began = time.perf_counter()
        archive = make_archive(
            work / "archive",
            args.studies,
            args.instances,
            junk=args.studies // 10,
            truncated=args.studies // 20,
        )
        files = archive.dicom_files + archive.junk_files + archive.truncated_files
        print(
            f"archive: {len(archive.studies)} studies, {archive.dicom_files} DICOM files "
            f"({archive.bytes / 1e6:.1f} MB), {archive.junk_files} non-DICOM, "
            f"{archive.truncated_files} truncated, {files} files in all; written in "
            f"{time.perf_counter() - began:.0f} s | load {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores",
            flush=True,
        )
        for name in args.backends.split(","):
            if name not in ("file", "moto-server"):
                raise SystemExit(f"unknown backend {name!r} (file, moto-server)")
            target = FileTarget(work) if name == "file" else MotoTarget(stack)
            bench_backend(target, archive, work, args.skip_push)


if __name__ == "__main__":
    main()
