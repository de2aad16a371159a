"""Profile ``mintstore serve`` (gunicorn worker) during one ingest and one whole-study GET.

Usage: python bench/profile_server.py [--slices 300] [--py-spy]

Prints, per phase, the worker's user/system CPU seconds (from /proc) and the wall
time; with ``--py-spy`` it also samples the worker (native frames included) and
prints the top frames by self time and a split by category. py-spy is a
profiling aid only (``pip install py-spy``), not a dependency.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import signal
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


def _worker_of(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--py-spy", action="store_true")
    parser.add_argument("--strace", action="store_true", help="syscall counts per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mint-profile-") as temp:
        work = Path(temp)
        write_ct_series(work / "ct", args.slices, seed=1)
        files = sorted((work / "ct").glob("*.dcm"))
        (work / "store").mkdir()
        with ServerProcess((work / "store").as_uri()) as server:
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
                user0, sys0 = _cpu(worker)
                started = time.perf_counter()
                run()  # type: ignore[operator]
                wall = time.perf_counter() - started
                user1, sys1 = _cpu(worker)
                print(
                    f"{label}: wall {wall:.2f} s, worker CPU user {user1 - user0:.2f} s "
                    f"+ system {sys1 - sys0:.2f} s  (load {os.getloadavg()[0]:.1f})"
                )
                if tracer is not None:
                    tracer.send_signal(signal.SIGINT)
                    tracer.wait(timeout=30)
                    lines = (work / f"{label}.strace").read_text().splitlines()
                    print("\n".join(lines[:14]))
                if spy is not None:
                    time.sleep(0.3)
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=30)
                    if out.exists():
                        _summarise(out, label)

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
