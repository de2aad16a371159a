"""Hunt for a stall of ``mintstore import`` (bench/import_stall.py).

Runs small imports one at a time (2 workers, file store), alternately a plain
run and a kill-at-~50%-and-rerun, each under a timeout. When a run makes no
progress (no new committed study) for ``--stall`` seconds, every Python
process of its process group is dumped with py-spy into ``--out`` and the run
is killed. Prints one line per run and a final count. Usage:
  .venv/bin/python -m bench.import_stall [--runs 10] [--studies 300] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mintstore.testing.archive import make_archive


def committed(url: str) -> int:
    """Studies with a commit record so far (file store)."""
    root = Path(url[len("file://") :]) / "studies"
    return len({p.parent.parent for p in root.glob("*/log/*.json")}) if root.exists() else 0


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (the import and its Dask processes)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _command(root: Path, url: str, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "mintstore.cli", "import", str(root), "--store", url,
        "--workers", "2", "--scan-cache", str(cache), "--quiet",
    ]  # fmt: skip


def _dump(pgid: int, py_spy: str, out: Path, tag: str) -> None:
    for pid in group_pids(pgid):
        done = subprocess.run(
            [py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True, check=False
        )
        (out / f"{tag}-{pid}.txt").write_text(done.stdout + done.stderr)


def watched(
    command: list[str], url: str, stall: float, limit: float, kill_at: int | None,
    py_spy: str, out: Path, tag: str,
) -> str:  # fmt: skip
    """Run one import; 'ok', 'killed' (on purpose), 'stalled' or 'failed'."""
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    started = last_change = time.monotonic()
    seen = -1
    while process.poll() is None:
        time.sleep(1.0)
        now = time.monotonic()
        count = committed(url)
        if count != seen:
            seen, last_change = count, now
        if kill_at is not None and count >= kill_at:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return "killed"
        if now - last_change > stall or now - started > limit:
            _dump(process.pid, py_spy, out, tag)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return "stalled"
    return "ok" if process.returncode == 0 else f"failed rc={process.returncode}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--studies", type=int, default=300)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--stall", type=float, default=60.0)
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--py-spy", default="/work/wt-ingest/.venv/bin/py-spy")
    parser.add_argument("--work", type=Path, default=Path("/tmp/hang"))
    args = parser.parse_args()
    out = args.work / "dumps"
    out.mkdir(parents=True, exist_ok=True)
    archive = make_archive(args.work / "archive", args.studies, args.instances)
    outcomes: dict[str, int] = {}
    for run in range(args.runs):
        url = f"file://{args.work / f'store-{os.getpid()}-{run}'}"
        cache = args.work / f"scan-{os.getpid()}-{run}.parquet"
        command = _command(archive.root, url, cache)
        resume = run % 2 == 1
        started = time.monotonic()
        if resume:
            first = watched(
                command, url, args.stall, args.limit, args.studies // 2,
                args.py_spy, out, f"run{run}a",
            )  # fmt: skip
            second = watched(
                command, url, args.stall, args.limit, None, args.py_spy, out, f"run{run}b"
            )
            outcome = f"{first}+{second}"
        else:
            outcome = watched(
                command, url, args.stall, args.limit, None, args.py_spy, out, f"run{run}"
            )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        print(
            f"run {run}: {outcome} in {time.monotonic() - started:.1f}s, "
            f"committed {committed(url)}/{args.studies}, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    print("outcomes:", outcomes)


if __name__ == "__main__":
    main()
