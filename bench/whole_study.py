"""Whole-study GET only: wall time and server CPU per request, optionally against a baseline tree.

Usage: python bench/whole_study.py [--slices 300] [--gets 10] [--baseline DIR] [--dicomweb]

Ingests one synthetic CT study once, then sends ``--gets`` whole-study GETs
(``GET /studies/{uid}``, ``Accept: multipart/related``; with ``--dicomweb`` the
WADO-RS study instead) and prints, per request, the wall time and the
gunicorn worker's user + system CPU (from /proc). With ``--baseline DIR`` (a
source tree, e.g. ``git archive main | tar -x -C DIR``) a second server runs that
tree's code on the same store, and the GETs alternate between the two, so a
load spike on this shared machine hits both alike. The client drains the body
the way ``bench/http_api.py`` does (``http.client``, 1 MiB reads).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import tempfile
import time
from pathlib import Path

from mintstore.client import MintClient
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess

TICK = os.sysconf("SC_CLK_TCK")
CHUNK = 1024 * 1024


def _cpu(pid: int) -> tuple[float, int]:
    """User + system CPU seconds and minor page faults of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK, int(fields[7])


def _worker_of(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def _get(port: int, path: str, accept: str) -> tuple[float, float, int]:
    """Wall time, this client's CPU time and the body's size of one GET."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    cpu = time.process_time()
    started = time.perf_counter()
    connection.request("GET", path, headers={"Accept": accept})
    response = connection.getresponse()
    assert response.status == 200, response.status
    total = 0
    while chunk := response.read(CHUNK):
        total += len(chunk)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    connection.close()
    return wall, cpu, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--gets", type=int, default=10)
    parser.add_argument("--baseline", type=Path, help="source tree of the code to compare with")
    parser.add_argument("--dicomweb", action="store_true", help="WADO-RS study instead")
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="mint-whole-study-") as temp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(temp)
        # ``python -m`` puts the working directory first on sys.path: run the
        # servers from elsewhere, so a baseline's PYTHONPATH is what they import.
        os.chdir(work)
        write_ct_series(work / "ct", args.slices, seed=1)
        files = sorted((work / "ct").glob("*.dcm"))
        (work / "store").mkdir()
        # Ingest through a server of its own, stopped before the reads: whatever
        # an ingest leaves running in a worker must not count against the GETs.
        with ServerProcess((work / "store").as_uri()) as ingester:
            client = MintClient(ingester.url)
            (result,) = client.push_files(files)
            client.close()
        servers = {"this tree": stack.enter_context(ServerProcess((work / "store").as_uri()))}
        if args.baseline is not None:
            environ = {"PYTHONPATH": str(args.baseline.resolve())}
            servers["baseline"] = stack.enter_context(
                ServerProcess((work / "store").as_uri(), environ=environ)
            )
        if args.dicomweb:
            path = f"/dicom-web/studies/{result.study_uid}"
            accept = 'multipart/related; type="application/dicom"'
        else:
            path, accept = f"/studies/{result.study_uid}", "multipart/related"
        figures: dict[str, list[tuple[float, float, int, float]]] = {name: [] for name in servers}
        for server in servers.values():  # warm each server's caches once
            _get(int(server.url.rsplit(":", 1)[1]), path, accept)
        for _ in range(args.gets):
            for name, server in servers.items():
                worker = _worker_of(server.process.pid)
                cpu0, faults0 = _cpu(worker)
                wall, client_cpu, size = _get(int(server.url.rsplit(":", 1)[1]), path, accept)
                cpu1, faults1 = _cpu(worker)
                figures[name].append((wall, cpu1 - cpu0, faults1 - faults0, client_cpu))
        print(f"{len(files)} slices, {size / 1024**2:.1f} MB per GET, {args.gets} GETs each")
        for name, rows in figures.items():
            walls = sorted(row[0] for row in rows)
            cpus = sorted(row[1] for row in rows)
            faults = statistics.median(row[2] for row in rows)
            client_cpu = statistics.median(row[3] for row in rows)
            print(
                f"{name:10} wall min {walls[0]:.3f} median {statistics.median(walls):.3f} s; "
                f"server CPU min {cpus[0]:.2f} median {statistics.median(cpus):.2f} s; "
                f"page faults median {faults:.0f}; client CPU median {client_cpu:.2f} s"
            )
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
