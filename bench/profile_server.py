"""Profile ``mintstore serve`` (gunicorn worker) during one ingest and one whole-study GET.

Usage: python bench/profile_server.py [--slices 300] [--py-spy] [--strace] [--perf]
       [--rounds N] [--before DIR]

Prints, per phase, the worker's user/system CPU seconds (from /proc), those of
its busiest thread (the request thread: the critical path of an ingest, since
it reads, parses and converts every part) and the wall time; with ``--py-spy``
it also samples the worker (native frames included) and prints the top frames
by self time and a split by category. py-spy is a profiling aid only (``pip
install py-spy``), not a dependency. ``--before DIR`` alternates each round
with a server importing mintstore from DIR (e.g. ``git archive main | tar -x
-C DIR``), so a change and its baseline are measured under the same load.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mintstore.client import MintClient
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def _thread_cpu(pid: int) -> dict[str, tuple[float, float]]:
    """User and system CPU seconds of each thread of ``pid``."""
    result = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        result[task] = (int(fields[11]) / TICK, int(fields[12]) / TICK)
    return result


def _switches() -> int:
    """The machine's context switches since boot (``ctxt`` in /proc/stat).

    Machine-wide, so it also counts the client's and the kernel's, the same on
    both sides of an A/B; a per-thread count would lose the threads that
    ended (8776e24's werkzeug ran each request on a new thread).
    """
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("ctxt "):
            return int(line.split()[1])
    return 0


def _schedstat(pid: int) -> dict[str, tuple[float, float]]:
    """Seconds each thread of ``pid`` ran and waited runnable for a CPU (schedstat)."""
    result = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            ran, waited, _ = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        result[task] = (int(ran) / 1e9, int(waited) / 1e9)
    return result


def _busiest(
    before: dict[str, tuple[float, float]],
    after: dict[str, tuple[float, float]],
    sched_before: dict[str, tuple[float, float]],
    sched_after: dict[str, tuple[float, float]],
) -> str:
    """The busiest thread's CPU, and how long it waited runnable for a CPU
    (what a CPU-bound machine costs the request thread, its critical path)."""
    zero = (0.0, 0.0)
    deltas = {
        task: (user - before.get(task, zero)[0], system - before.get(task, zero)[1])
        for task, (user, system) in after.items()
    }
    task = max(deltas, key=lambda name: sum(deltas[name]), default=None)
    if task is None:
        return "no thread"
    user, system = deltas[task]
    waited = sched_after.get(task, zero)[1] - sched_before.get(task, zero)[1]
    return (
        f"busiest thread user {user:.2f} s + system {system:.2f} s, waited for a CPU {waited:.2f} s"
    )


def _worker_of(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    # A server without worker processes (werkzeug's, before gunicorn) serves itself.
    return int(children[0]) if children else master


CATEGORIES = [
    ("hash (sha256)", ("sha256", "sha2", "_hashlib", "hashlib", "SHA256")),
    ("fsync", ("fsync",)),
    ("mkdir/link/dirs", ("mkdir", "link", "_make_durable", "_fsync_directory", "rename")),
    ("socket send", ("sendall", "send", "socket.py", "write (gunicorn", "sendfile")),
    ("socket recv/body read", ("recv", "readinto", "unreader", "body.py")),
    ("multipart", ("multipart_in", "multipart_out", "iter_multipart", "iter_parts")),
    ("conversion", ("pydicom", "conversion", "mintstore/convert", "model")),
    ("spool/temp files", ("spool", "tempfile", "SpooledTemporary")),
    ("gunicorn/flask/werkzeug", ("gunicorn", "flask", "werkzeug")),
]


def _summarise(raw: Path, label: str) -> None:
    self_time: collections.Counter[str] = collections.Counter()
    category: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf = frames[-1]
        self_time[leaf] += n
        for name, needles in CATEGORIES:
            if any(needle in frame for frame in frames[-6:] for needle in needles):
                category[name] += n
                break
        else:
            category["other"] += n
    print(f"--- {label}: {total} samples (idle excluded)")
    for name, n in category.most_common():
        print(f"  {name:28} {100 * n / max(total, 1):5.1f}%")
    print("  top self frames:")
    for frame, n in self_time.most_common(18):
        print(f"    {100 * n / max(total, 1):5.1f}%  {frame[:110]}")


def _perf_report(data: Path) -> None:
    """The 25 symbols with the most self time (kernel ones marked [k])."""
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "sym",
         "--stdio", "-g", "none"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    rows = [line for line in report.stdout.splitlines() if "%" in line and not line.startswith("#")]
    print("\n".join(rows[:25]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--py-spy", action="store_true")
    parser.add_argument("--strace", action="store_true", help="syscall counts per phase")
    parser.add_argument("--perf", action="store_true", help="perf's top symbols per phase")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="copy each phase's py-spy/perf output here")
    parser.add_argument("--before", type=Path, help="a source tree to alternate with")
    args = parser.parse_args()
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="mint-profile-") as temp:
        work = Path(temp)
        write_ct_series(work / "ct", args.slices, seed=1)
        files = sorted((work / "ct").glob("*.dcm"))
        os.sync()  # the study just written is on disk before anything is timed (see http_api.py)
        trees: list[tuple[str, dict[str, str]]] = [("this tree", {})]
        if args.before is not None:
            trees.insert(0, ("before", {"PYTHONPATH": str(args.before.resolve())}))
        figures: dict[tuple[str, str], list[tuple[float, float]]] = collections.defaultdict(list)
        for round_number in range(args.rounds):
            for label, environ in trees:
                print(f"--- round {round_number + 1}: {label}")
                store = work / f"store-{round_number}-{len(environ)}"
                for phase, figure in _profile(args, store, files, environ).items():
                    figures[label, phase].append(figure)
        if args.rounds > 1:
            _summary(figures, [label for label, _ in trees])
    return 0


def _summary(figures: dict[tuple[str, str], list[tuple[float, float]]], trees: list[str]) -> None:
    """Medians over the rounds: one ingest is too noisy to compare (its wall time
    varied 1.0-1.5 s between identical runs on a quiet machine)."""
    print(f"--- medians over {len(figures[trees[0], 'ingest'])} rounds (wall s, worker CPU s)")
    for phase in ("ingest", "retrieve", "retrieve2"):
        medians = {}
        for tree in trees:
            walls, cpus = zip(*figures[tree, phase], strict=True)
            medians[tree] = statistics.median(walls)
            print(
                f"  {phase:10} {tree:10} wall {medians[tree]:.3f} "
                f"(min {min(walls):.3f}, max {max(walls):.3f})  CPU {statistics.median(cpus):.3f}"
            )
        if len(trees) == 2:
            print(f"  {phase:10} wall ratio {trees[1]}/{trees[0]}: "
                  f"{medians[trees[1]] / medians[trees[0]]:.2f}")  # fmt: skip


def _profile(
    args: argparse.Namespace, store: Path, files: list[Path], environ: dict[str, str]
) -> dict[str, tuple[float, float]]:
    """Run the phases against a fresh server; (wall, worker CPU) seconds of each."""
    figures: dict[str, tuple[float, float]] = {}
    work = store.parent
    store.mkdir()
    # ``python -m`` puts the working directory first on sys.path: a server
    # started from a checkout would import that checkout, whatever PYTHONPATH says.
    source = environ.get("PYTHONPATH")
    cwd = Path(source) if source else None
    with ServerProcess(store.as_uri(), environ=environ, cwd=cwd) as server:
        worker = _worker_of(server.process.pid)
        client = MintClient(server.url)
        port = int(server.url.rsplit(":", 1)[1])

        def phase(label: str, run: object) -> None:
            spy = None
            out = work / f"{label}.txt"
            if args.py_spy:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record",
                     "--pid", str(worker), "--rate", "250", "--threads", "--format", "raw",
                     "--output", str(out), "--nonblocking"],
                    stdout=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1.0)
            tracer = None
            if args.strace:
                tracer = subprocess.Popen(
                    ["strace", "-c", "-f", "-p", str(worker),
                     "-o", str(work / f"{label}.strace")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1.0)
            recorder = None
            if args.perf:
                recorder = subprocess.Popen(
                    ["perf", "record", "-g", "-p", str(worker), "-o", str(work / f"{label}.perf")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1.0)
            client0 = time.process_time()
            user0, sys0 = _cpu(worker)
            threads0 = _thread_cpu(worker)
            sched0 = _schedstat(worker)
            switches0 = _switches()
            started = time.perf_counter()
            run()  # type: ignore[operator]
            wall = time.perf_counter() - started
            user1, sys1 = _cpu(worker)
            client_cpu = time.process_time() - client0
            busiest = _busiest(threads0, _thread_cpu(worker), sched0, _schedstat(worker))
            switches = _switches() - switches0
            figures[label] = (wall, user1 - user0 + sys1 - sys0)
            print(
                f"{label}: wall {wall:.2f} s, worker CPU user {user1 - user0:.2f} s "
                f"+ system {sys1 - sys0:.2f} s, {busiest}, {switches} context switches "
                f"(machine), client CPU {client_cpu:.2f} s  (load {os.getloadavg()[0]:.1f})"
            )
            if tracer is not None:
                tracer.send_signal(signal.SIGINT)
                tracer.wait(timeout=30)
                lines = (work / f"{label}.strace").read_text().splitlines()
                print("\n".join(lines[:14]))
            if recorder is not None:
                recorder.send_signal(signal.SIGINT)
                recorder.wait(timeout=60)
                _perf_report(work / f"{label}.perf")
                if args.keep is not None:
                    shutil.copy(work / f"{label}.perf", args.keep / f"{label}.perf")
            if spy is not None:
                time.sleep(0.3)
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
                if out.exists():
                    _summarise(out, label)
                    if args.keep is not None:
                        shutil.copy(out, args.keep / out.name)

        study_uid: list[str] = []

        def ingest() -> None:
            (result,) = client.push_files(files)
            study_uid.append(result.study_uid)

        def retrieve() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            connection.request(
                "GET", f"/studies/{study_uid[0]}", headers={"Accept": "multipart/related"}
            )
            response = connection.getresponse()
            assert response.status == 200
            while response.read(1024 * 1024):
                pass
            connection.close()

        phase("ingest", ingest)
        retrieve()
        phase("retrieve", retrieve)
        phase("retrieve2", retrieve)
        client.close()
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
