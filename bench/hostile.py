"""What each hostile input of issue 14 costs a real server: CPU seconds, peak RSS, status.

Usage: python bench/hostile.py [--scale 1.0]

Starts ``mintstore serve`` (one process, file store in a temporary
directory), stores one small study for the probes, then sends each hostile
request once and reads the server's CPU time and its RSS high-water mark
(reset before each request) from /proc. Goals: <= 1 s CPU and <= 64 MiB extra
memory per hostile request; the two valid big uploads (300 parts of 1 MB, one
300 MB Part-10) print their figures against the same goals. The reference in
the same run is a GET /healthz (the cost of a request that does nothing).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from mintstore.testing.hostile import HostileCase, cases, measure, seed_study
from mintstore.testing.mint_server import ServerProcess

CPU_GOAL = 1.0
MEMORY_GOAL_MIB = 64.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="size factor of the inputs")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "store").mkdir()
        with ServerProcess(
            (work / "store").as_uri(), options=["--max-request-bytes", str(2 * 1024**3)]
        ) as server:
            pid = server.process.pid
            study = seed_study(server.url, work)
            reference = measure(server.url, pid, HostileCase("GET /healthz", "GET", "/healthz"))
            print(
                f"reference GET /healthz: {reference.cpu_seconds:.2f} s CPU, "
                f"{reference.peak_extra_mib:.1f} MiB extra, status {reference.status}"
            )
            print(f"{'input':58} {'status':>6} {'CPU s':>7} {'+MiB':>7} {'wall s':>7}  goal")
            failures = 0
            for case in cases(scale=args.scale, workdir=work, study=study):
                cost = measure(server.url, pid, case)
                alive = server.process.poll() is None
                met = (
                    cost.status in case.expect
                    and cost.cpu_seconds <= CPU_GOAL
                    and cost.peak_extra_mib <= MEMORY_GOAL_MIB
                    and alive
                )
                failures += not met
                print(
                    f"{case.name[:58]:58} {cost.status:>6} {cost.cpu_seconds:>7.2f} "
                    f"{cost.peak_extra_mib:>7.1f} {cost.wall_seconds:>7.2f}  "
                    + ("met" if met else "NOT met" + ("" if alive else " (server died)"))
                )
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{failures} input(s) missed a goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
