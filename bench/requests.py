"""Object-store requests per HTTP read, first call and warm, strict and with a window.

For S3 on moto server and for Azurite (``--backends``), a synthetic CT study
is ingested by one store, then each read below is served by a *fresh*
process-like reader (new StudyStore, cold caches) through the real Flask app
over a request-counting wrapper, twice: the first call and a warm one.
Reads run in two modes: strict freshness (``freshness=0``: the latest
version is resolved with one LIST per request) and a freshness window
(``freshness=60 s``: the system change log is followed once per window).

Goals (issue 9): warm single item = 1 GET and 0 LIST with a window, <= 1 LIST
+ 1 GET strict; warm whole study = items + at most 1 request; warm metadata =
0 requests with a window, <= 1 LIST strict; ``?version=N`` reads = 0 LIST.

A second table counts the read that refreshes a window (the change-log
follow) after 0, 1 and 5 commits made elsewhere in the meantime.

Usage: .venv/bin/python -m bench.requests [--backends moto-server,azurite] [--slices 10]
(run as ``python bench/requests.py`` it works too: this file's folder would
otherwise shadow the ``requests`` package that moto and the SDKs import).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os
import tempfile
import time
from collections import Counter
from datetime import timedelta

from mintstore.adapters.counting import CountingStore
from mintstore.adapters.registry import open_store
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.synthetic import write_ct_series
from mintstore.testing.backends import BackendPool, StoreSpec
from mintstore.web import ServerConfig, create_app

ROOT = Path(__file__).resolve().parents[1]
MODES = {"strict": timedelta(0), "window": timedelta(seconds=60)}


def ingest(spec: StoreSpec, slices: int, *, size: int = 64) -> tuple[str, str, int]:
    """One synthetic study in the store; returns (study UID, series UID, item count)."""
    with tempfile.TemporaryDirectory() as tmp:
        series = write_ct_series(tmp, slices, rows=size, columns=size, seed=1)
        store = StudyStore(open_store(spec.url, spec.environ))
        with store.begin_ingest() as session:
            for path in sorted(Path(tmp).glob("*.dcm")):
                with path.open("rb") as stream:
                    session.add_part10(stream)
            session.commit(Actor("bench"))
        items = len(store.item_ids(series.study_instance_uid))
        store.close()
    return series.study_instance_uid, series.series_instance_uid, items


#: The window of the refresh measurement: short, so the bench waits little.
REFRESH_WINDOW = timedelta(seconds=0.5)


def measure_refresh(spec: StoreSpec, study: str, commits: int) -> str:
    """Requests of the one read that refreshes a window after ``commits`` commits
    made elsewhere (other studies, so the count is the change-log follow alone)."""
    counting = CountingStore(open_store(spec.url, spec.environ))
    reader = StudyStore(counting, StoreConfig(freshness=REFRESH_WINDOW))
    reader.open_version(study)  # first read: finds the change log's tail
    reader.open_version(study)  # warm: costs nothing
    for _ in range(commits):
        ingest(spec, 1, size=8)
    time.sleep(REFRESH_WINDOW.total_seconds() * 1.2)
    counting.reset()
    reader.open_version(study)
    reader.close()
    return describe(counting.counts)


def reads(study: str, series: str) -> list[tuple[str, str, dict[str, str]]]:
    base = f"/studies/{study}"
    return [
        ("one binary item", f"{base}/DICOM/binaryitems/0", {}),
        ("item, Range 100 B", f"{base}/DICOM/binaryitems/0", {"Range": "bytes=0-99"}),
        ("metadata.xml", f"{base}/DICOM/metadata.xml", {}),
        ("metadata.gpb", f"{base}/DICOM/metadata.gpb", {}),
        ("whole study (multipart)", base, {"Accept": "multipart/related"}),
        ("series", f"{base}/{series}", {}),
        ("study change log", f"{base}/changelog", {}),
        ("item ?version=0", f"{base}/DICOM/binaryitems/0?version=0", {}),
        ("metadata.gpb ?version=0", f"{base}/DICOM/metadata.gpb?version=0", {}),
    ]


def describe(counts: Counter[str]) -> str:
    lists = counts["list"]
    gets = counts["get"] + counts["get_range"]
    heads = counts["head"]
    puts = sum(v for k, v in counts.items() if k.startswith("put"))
    text = f"{lists} LIST + {gets} GET"
    if heads:
        text += f" + {heads} HEAD"
    if puts:
        text += f" + {puts} PUT"
    return text


def measure(spec: StoreSpec, freshness: timedelta, path: str, headers: dict[str, str]) -> list[str]:
    counting = CountingStore(open_store(spec.url, spec.environ))
    reader = StudyStore(counting, StoreConfig(freshness=freshness))
    app = create_app(ServerConfig(store_url=spec.url, environ=spec.environ), store=reader)
    client = app.test_client()
    results = []
    for _ in range(2):
        counting.reset()
        response = client.get(path, headers=headers)
        response.get_data()
        if response.status_code not in (200, 206):
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data()[:200]!r}")
        results.append(describe(counting.counts))
    reader.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="moto-server,azurite")
    parser.add_argument("--slices", type=int, default=10)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    with BackendPool(ROOT / ".tools") as pool:
        for name in args.backends.split(","):
            backend = pool.get(name)
            with backend.activate():
                spec = backend.fresh()
                study, series, items = ingest(spec, args.slices)
                print(f"\n## {name}: one study, {args.slices} instances, {items} binary items\n")
                print("| read | mode | first call | warm call |")
                print("|---|---|---|---|")
                for label, path, headers in reads(study, series):
                    for mode, freshness in MODES.items():
                        first, warm = measure(spec, freshness, path, headers)
                        print(f"| {label} | {mode} | {first} | {warm} |", flush=True)
                print("\n| freshness refresh (window) | requests of the refreshing read |")
                print("|---|---|")
                for commits in (0, 1, 5):
                    counts = measure_refresh(spec, study, commits)
                    print(f"| after {commits} commits elsewhere | {counts} |", flush=True)


if __name__ == "__main__":
    main()
