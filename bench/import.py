"""Benchmark of ``mintstore import`` (Dask) against ``mintstore push`` (bench/import.py).

A synthetic archive (default 2,000 studies x 10 small CT instances = 20,000
DICOM files, scattered over a folder tree, plus non-DICOM and truncated
files) is imported into a fresh file store and a fresh moto-server bucket:

* ``mintstore import`` on a Dask local cluster of 1 and of 2 workers;
* ``mintstore push`` of the same tree to a ``mintstore serve`` on the same
  store (the HTTP path, one machine);
* a resumability run: import with 2 workers killed at about half the
  studies committed, then run again: what the second run re-sent.

Prints files/s, MB/s, the scaling efficiency 1 -> 2 workers and the load
average. Usage (as a module: bench/requests.py shadows the requests package):
  .venv/bin/python -m bench.import [--studies 2000] [--instances 10] [--backends file,moto-server]
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mintstore.testing.archive import Archive, make_archive
from mintstore.testing.backends import BackendPool
from mintstore.testing.mint_server import ServerProcess

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mintstore.cli", *args]


def _count_commits(url: str, environ: dict[str, str]) -> int:
    from mintstore.adapters import open_store

    with open_store(url, environ) as objects:
        return sum(1 for info in objects.list("studies/") if "/log/" in info.key)


def dask_import(
    archive: Archive, url: str, environ: dict[str, str], workers: int, work: Path, tag: str
) -> dict[str, Any]:
    report = work / f"report-{tag}.csv"
    command = _cli(
        "import", str(archive.root), "--store", url, "--workers", str(workers), "--quiet",
        "--report", str(report), "--scan-cache", str(work / f"scan-{tag}.parquet"),
    )  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, **environ}, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"import failed: {done.stderr[-2000:]}")
    return {"seconds": seconds, "summary": done.stdout.strip().splitlines()[0], "report": report}


def push_tree(archive: Archive, work: Path) -> Path:
    """The same tree without the truncated files (hard links): ``push`` stops at the
    first file the server refuses, ``import`` goes on; the rest is identical."""
    tree = work / "push-tree"
    if tree.exists():
        return tree
    for path in archive.root.rglob("*"):
        if path.is_file() and not path.name.startswith("cut-"):
            target = tree / path.relative_to(archive.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
    return tree


def push(archive: Archive, url: str, environ: dict[str, str], work: Path) -> dict[str, Any]:
    server = ServerProcess(url, environ=environ, log_path=work / "serve.log")
    tree = push_tree(archive, work)
    try:
        started = time.perf_counter()
        done = subprocess.run(
            _cli("push", str(tree), "--url", server.url, "--quiet", "--jobs", "4"),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    lines = done.stdout.strip().splitlines()
    return {"seconds": seconds, "summary": f"{len(lines)} studies pushed, exit {done.returncode}"}


def resumability(archive: Archive, url: str, environ: dict[str, str], work: Path) -> dict[str, Any]:
    """Kill an import with 2 workers at ~half the studies, then run it again."""
    command = _cli(
        "import", str(archive.root), "--store", url, "--workers", "2", "--quiet",
        "--scan-cache", str(work / "scan-resume.parquet"),
    )  # fmt: skip
    process = subprocess.Popen(
        command,
        env={**os.environ, **environ},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    half = len(archive.studies) // 2
    committed = 0
    started = time.perf_counter()
    while process.poll() is None:
        committed = _count_commits(url, environ)
        if committed >= half:
            break
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - started
    at_kill = _count_commits(url, environ)
    again = dask_import(archive, url, environ, 2, work, "resume")
    with again["report"].open() as stream:
        rows = [r for r in csv.DictReader(stream) if r["kind"] == "study"]
    resent = sum(int(r["added"]) for r in rows)
    skipped = sum(int(r["skipped"]) for r in rows)
    return {
        "killed_after_s": killed_after,
        "studies_committed_at_kill": at_kill,
        "rerun_s": again["seconds"],
        "instances_re_sent": resent,
        "instances_skipped_by_sop_uid": skipped,
        "rerun_summary": again["summary"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--backends", default="file,moto-server")
    parser.add_argument("--skip-push", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch, BackendPool(ROOT / ".tools") as pool:
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
        megabytes = archive.bytes / 1e6
        print(
            f"archive: {len(archive.studies)} studies, {archive.dicom_files} DICOM files "
            f"({megabytes:.1f} MB), {archive.junk_files} non-DICOM, {archive.truncated_files} "
            f"truncated, {files} files in all; written in {time.perf_counter() - began:.0f} s",
            flush=True,
        )
        for backend in args.backends.split(","):
            results: dict[str, float] = {}
            for workers in (1, 2):
                spec = pool.get(backend).fresh()
                run = dask_import(
                    archive, spec.url, dict(spec.environ), workers, work, f"{backend}{workers}"
                )
                results[f"dask-{workers}"] = run["seconds"]
                print(
                    f"[{backend}] import --workers {workers}: {run['seconds']:.1f} s, "
                    f"{files / run['seconds']:.0f} files/s, {megabytes / run['seconds']:.2f} MB/s"
                    f" | {run['summary']} | load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            efficiency = results["dask-1"] / (2 * results["dask-2"])
            print(
                f"[{backend}] scaling 1 -> 2 workers: {results['dask-1'] / results['dask-2']:.2f}x "
                f"(efficiency {efficiency:.0%}) on {os.cpu_count()} cores",
                flush=True,
            )
            if not args.skip_push:
                spec = pool.get(backend).fresh()
                run = push(archive, spec.url, dict(spec.environ), work)
                print(
                    f"[{backend}] push (HTTP, --jobs 4; tree without the truncated files): "
                    f"{run['seconds']:.1f} s, "
                    f"{files / run['seconds']:.0f} files/s, {megabytes / run['seconds']:.2f} MB/s; "
                    f"import --workers 2 / push = {run['seconds'] / results['dask-2']:.2f}x faster"
                    f" | {run['summary']} | load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            spec = pool.get(backend).fresh()
            resumed = resumability(archive, spec.url, dict(spec.environ), work)
            print(
                f"[{backend}] resumability: {resumed} | load {os.getloadavg()[0]:.1f}", flush=True
            )


if __name__ == "__main__":
    main()
