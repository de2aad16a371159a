"""Benchmark of the partitioned search index at 100k / 1M / 3M studies (bench/index_scale.py).

For each size and backend: synthetic index rows (the same distributions as
bench/store.py) are written as base partitions, as reindex writes them, then
a tail of real change-log entries follows. A *fresh process* then opens the
store and reports:

* RSS after start and after the first search, and start -> first search;
* p50/p95 of searches by patient ID, accession number, a one-month StudyDate
  range (page of 100) and a modality (page of 100);
* read-all with continuation (limit 100) total time (``--read-all``);
* requests and index objects written per commit (counted by a wrapper store);
* a compaction merging partitions while another thread searches and commits:
  its duration, and the slowest search / commit during it against before it.

Usage (as a module: bench/requests.py would shadow the requests package):
  .venv/bin/python -m bench.index_scale [--sizes 100000,1000000,3000000]
      [--backends file,moto-server] [--read-all] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mintstore.adapters import open_store
from mintstore.adapters.counting import CountingStore
from mintstore.store import SearchQuery, StoreConfig, StudyStore, manifest, partitions
from mintstore.store.index_options import IndexOptions
from mintstore.store.layout import partition_key, study_key
from mintstore.store.records import CommitRecord, IndexRow
from mintstore.testing.backends import BackendPool

ROOT = Path(__file__).resolve().parents[1]
MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "PT", "NM"]
CHUNK = 250_000


def synthetic_table(count: int, seed: int, only: int | None = None) -> pa.Table:
    """Index rows as bench/store.py makes them, built column-wise (3M rows fit).

    ``only``: just the first rows of the same table (the child's query sample).
    """
    rng = np.random.default_rng(seed)
    pieces = []
    for start in range(0, count if only is None else min(only, count), CHUNK):
        n = min(CHUNK, count - start)
        index = np.arange(start, start + n)
        roots = rng.integers(0, 10**12, n)
        uids = [f"1.2.826.0.1.3680043.8.498.{r}.{i}" for r, i in zip(roots, index, strict=True)]
        patients = rng.integers(0, count // 3 + 1, n)
        issuers = rng.integers(0, 3, n)
        modality = rng.integers(0, len(MODALITIES), n)
        years = rng.integers(1995, 2026, n)
        months = rng.integers(1, 13, n)
        days = rng.integers(1, 29, n)
        hours = rng.integers(0, 24, n)
        minutes = rng.integers(0, 60, n)
        columns: dict[str, Any] = {
            "study_key": [study_key(uid) for uid in uids],
            "study_uid": uids,
            "version": np.zeros(n, dtype=np.int64),
            "last_modified": ["2026-11-24T12:00:00+00:00"] * n,
            "deleted": np.zeros(n, dtype=bool),
            "patient_id": [f"PAT{p:07d}" for p in patients],
            "patient_id_issuer": [("HOSP-A", "HOSP-B", None)[i] for i in issuers],
            "accession_number": [f"ACC{i:08d}" for i in index],
            "accession_number_issuer": [None] * n,
            "modalities": [[MODALITIES[m]] for m in modality],
            "study_date": [
                f"{y}{m:02d}{d:02d}" for y, m, d in zip(years, months, days, strict=True)
            ],
            "study_time": [f"{h:02d}{m:02d}00" for h, m in zip(hours, minutes, strict=True)],
            "instances": rng.integers(1, 500, n),
            "patient_name": [f"DOE^{p}" for p in patients],
            "study_description": ["SYNTHETIC"] * n,
            "referring_physician_name": [None] * n,
            "study_id": [str(i % 10000) for i in index],
            "series": rng.integers(1, 10, n),
        }
        pieces.append(pa.table(columns, schema=partitions.SCHEMA))
    return pa.concat_tables(pieces)


def tail_row(index: int) -> IndexRow:
    uid = f"1.2.826.0.1.3680043.8.498.999.{index}.{time.time_ns()}"
    return IndexRow(
        study_uid=uid,
        version=0,
        last_modified="2026-11-30T12:00:00+00:00",
        patient_id=f"TAIL{index:05d}",
        accession_number=f"TACC{index:07d}",
        modalities=("CT",),
        study_date="20261130",
    )


def commit_row(store: StudyStore, row: IndexRow) -> None:
    """What a commit does to the change log and the index after its commit record."""
    record = CommitRecord(
        study_uid=row.study_uid,
        version=0,
        operation="CREATE",
        time=store.config.clock(),
        user="bench",
        host=None,
        codec="gpb.gz",
        metadata=None,
        items=None,
        payload=None,
        next_bid=0,
        index=row,
    )
    store.archive_jobs.publish_change(record)


def rss_mib() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    values = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, value = line.split(":")
            values[name] = int(value.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95) - 1],
        "max": samples[-1],
    }


class KeyCountingStore(CountingStore):
    """Also counts the objects written under each top-level prefix."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.written: dict[str, int] = {}

    def put(self, key: str, data: Any, *, mode: Any = None) -> Any:
        top = key.split("/", 1)[0]
        self.written[top] = self.written.get(top, 0) + 1
        if mode is None:
            return super().put(key, data)
        return super().put(key, data, mode=mode)


def child(
    url: str, count: int, seed: int, queries: int, read_all: bool, budget: float | None = None
) -> dict[str, Any]:
    """Runs in a fresh process: what a new server process costs and answers."""
    started = time.perf_counter()
    config = StoreConfig(index=IndexOptions(background=False))
    # Every request of this process counted: what each kind of search costs
    # in GETs/HEADs is the figure that carries over to a real S3 (moto's
    # latencies do not: a ranged GET there copies the whole object).
    counting = CountingStore(open_store(url, os.environ))
    store = StudyStore(counting, config)
    rss_start, _ = rss_mib()
    counting.reset()
    first = store.search(SearchQuery(patient_id="PAT0000001"))
    first_search = time.perf_counter() - started
    first_requests = dict(counting.counts)
    rss_first, _ = rss_mib()
    assert first.results is not None
    rng = random.Random(seed)
    sample = synthetic_table(count, seed, only=5000).slice(0, 5000).to_pylist()
    result: dict[str, Any] = {
        "rss_after_start_mib": rss_start,
        "rss_after_first_search_mib": rss_first,
        "first_search_s": first_search,
        "first_search_requests": first_requests,
    }
    kinds: dict[str, Callable[[dict[str, Any]], SearchQuery]] = {
        "patient": lambda r: SearchQuery(patient_id=r["patient_id"]),
        "accession": lambda r: SearchQuery(accession_number=r["accession_number"]),
        "month": lambda r: SearchQuery(
            min_study_date=r["study_date"][:6] + "01",
            max_study_date=r["study_date"][:6] + "31",
            limit=100,
        ),
        "modality": lambda r: SearchQuery(modalities_in_study=tuple(r["modalities"]), limit=100),
    }
    for name, make in kinds.items():
        timings = []
        # CPU time of this process per query as well: on a machine shared by
        # many busy processes the wall time mostly measures the wait for a core.
        cpu = []
        counting.reset()
        for _ in range(queries):
            query = make(rng.choice(sample))
            begin, begin_cpu = time.perf_counter(), time.process_time()
            page = store.search(query)
            timings.append((time.perf_counter() - begin) * 1000)
            cpu.append((time.process_time() - begin_cpu) * 1000)
            assert page.results, (name, query)
            if name == "modality":  # the next page too: pages cost the same
                query = SearchQuery(
                    modalities_in_study=query.modalities_in_study,
                    limit=100,
                    continuation=page.continuation,
                )
                begin, begin_cpu = time.perf_counter(), time.process_time()
                store.search(query)
                timings.append((time.perf_counter() - begin) * 1000)
                cpu.append((time.process_time() - begin_cpu) * 1000)
        result[f"{name}_requests_per_search"] = _per(counting, len(timings))
        result[f"{name}_ms"] = percentiles(timings)
        result[f"{name}_cpu_ms"] = percentiles(cpu)
        result[f"{name}_load_average"] = os.getloadavg()[0]
    if read_all:
        begin = time.perf_counter()
        seen = 0
        counting.reset()
        page = store.search(SearchQuery(limit=100))
        seen += len(page.results)
        pages = 1
        while page.continuation:
            page = store.search(SearchQuery(limit=100, continuation=page.continuation))
            seen += len(page.results)
            pages += 1
            if budget is not None and time.perf_counter() - begin > budget:
                # Stopped early: pages cost the same, so the total is projected.
                result["read_all_stopped_after_s"] = budget
                result["read_all_projected_s"] = (time.perf_counter() - begin) * count / seen
                break
        result["read_all_s"] = time.perf_counter() - begin
        result["read_all_rows"] = seen
        result["read_all_requests_per_page"] = _per(counting, pages)
    result["rss_end_mib"], result["peak_rss_mib"] = rss_mib()
    return result


def _per(counting: CountingStore, times: int) -> dict[str, float]:
    """Requests by operation per search (or page), from a counting store."""
    return {name: round(n / max(1, times), 3) for name, n in sorted(counting.counts.items())}


def compaction_under_load(url: str, environ: dict[str, str], commits: int) -> dict[str, Any]:
    """A merging compaction in one thread, searches and commits in another."""
    config = StoreConfig(
        compact_every=commits // 4,
        index=IndexOptions(background=False, max_deltas=2, delta_rows=commits // 8),
    )
    counting = KeyCountingStore(open_store(url, environ))
    store = StudyStore(counting, config)
    store.search(SearchQuery(patient_id="PAT0000001"))
    # Commits as a writer makes them: count what each writes.
    counting.reset()
    counting.written.clear()
    for index in range(commits):
        commit_row(store, tail_row(index))
    result: dict[str, Any] = {
        "requests_per_commit (change log + index)": counting.total / commits,
        "objects_written_per_commit": {k: v / commits for k, v in counting.written.items()},
    }
    counting.reset()
    counting.written.clear()
    stop = threading.Event()
    search_ms: list[float] = []
    commit_ms: list[float] = []
    baseline_search: list[float] = []
    baseline_commit: list[float] = []
    rng = random.Random(1)

    def load(search_into: list[float], commit_into: list[float], until: threading.Event) -> None:
        index = 10**6
        while not until.is_set():
            begin = time.perf_counter()
            store.search(SearchQuery(patient_id=f"PAT{rng.randrange(1000):07d}"))
            search_into.append((time.perf_counter() - begin) * 1000)
            begin = time.perf_counter()
            commit_row(store, tail_row(index))
            commit_into.append((time.perf_counter() - begin) * 1000)
            index += 1

    before_stop = threading.Event()
    thread = threading.Thread(target=load, args=(baseline_search, baseline_commit, before_stop))
    thread.start()
    time.sleep(3)
    before_stop.set()
    thread.join()
    thread = threading.Thread(target=load, args=(search_ms, commit_ms, stop))
    thread.start()
    begin = time.perf_counter()
    made = store.index_maintenance.compact_now()  # due: folds the tail, merges 2 partitions
    result["compaction_s"] = time.perf_counter() - begin
    stop.set()
    thread.join()
    result["compaction_made_generation"] = made.generation if made else None
    result["objects_written_during_compaction"] = dict(counting.written)
    result["commits_during_compaction"] = len(commit_ms)
    result["searches_during_compaction"] = len(search_ms)
    result["search_ms_before"] = percentiles(baseline_search)
    result["search_ms_during"] = percentiles(search_ms) if search_ms else None
    result["commit_ms_before"] = percentiles(baseline_commit)
    result["commit_ms_during"] = percentiles(commit_ms) if commit_ms else None
    newest = manifest.newest(counting)
    result["partitions"] = len(newest.base)
    return result


def run(backend: str, spec_url: str, environ: dict[str, str], count: int, args: Any) -> None:
    seed = count
    began = time.perf_counter()
    table = synthetic_table(count, seed)
    build = time.perf_counter() - began
    objects = open_store(spec_url, environ)
    store = StudyStore(objects, StoreConfig(index=IndexOptions(background=False)))
    began = time.perf_counter()
    made = store.index_maintenance.replace_table(table, 0)
    write = time.perf_counter() - began
    del table
    for index in range(200):  # a tail the fresh process must fold
        commit_row(store, tail_row(index))
    size = sum(
        objects.head(partition_key(name)).size for name in manifest.newest(objects).live_files()
    )
    print(
        f"[{backend} {count:,}] rows built {build:.1f} s, written as {len(made.base)} base "
        f"partitions ({size / 2**20:.0f} MiB with lookups) in {write:.1f} s",
        flush=True,
    )
    env = {**os.environ, **environ}
    command = [
        sys.executable,
        "-m",
        "bench.index_scale",
        "--child",
        spec_url,
        "--count",
        str(count),
        "--queries",
        str(args.queries),
    ]
    if args.read_all and count <= args.read_all_max:
        command.append("--read-all")
        if args.read_all_budget is not None:
            command += ["--read-all-budget", str(args.read_all_budget)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        print(done.stderr[-3000:])
        raise SystemExit(f"child failed on {backend} {count}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"[{backend} {count:,}] fresh process: {json.dumps(measured, indent=1)}", flush=True)
    load = compaction_under_load(spec_url, environ, 400)
    print(f"[{backend} {count:,}] commits and compaction: {json.dumps(load, indent=1)}", flush=True)
    print(f"[{backend} {count:,}] load average: {os.getloadavg()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000,3000000")
    parser.add_argument("--backends", default="file,moto-server")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--read-all", action="store_true")
    parser.add_argument("--read-all-max", type=int, default=3_000_000)
    parser.add_argument(
        "--read-all-budget",
        type=float,
        help="stop read-all after this many seconds and project the total from the rate",
    )
    parser.add_argument("--child")
    parser.add_argument("--count", type=int)
    args = parser.parse_args()
    if args.child:
        measured = child(
            args.child, args.count, args.count, args.queries, args.read_all, args.read_all_budget
        )
        print(json.dumps(measured))
        return
    with tempfile.TemporaryDirectory() as _, BackendPool(ROOT / ".tools") as pool:
        for backend in args.backends.split(","):
            for count in (int(s) for s in args.sizes.split(",")):
                spec = pool.get(backend).fresh()
                run(backend, spec.url, dict(spec.environ), count, args)


if __name__ == "__main__":
    main()
