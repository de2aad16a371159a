"""Benchmark of the study storage engine (bench/store.py).

1. Ingest of a 300-instance synthetic CT study (512x512): object-store
   requests per study (counted by a wrapper store; goal: binary items + <= 10)
   and wall time against a raw parallel upload of the same files with the
   same number of workers (goal <= 1.3x).
2. Search over 10,000 and 100,000 studies: p50/p95 of warm queries (goal
   p50 <= 10 ms) and the time to load the index from the bucket (goal <= 5 s
   for 100,000). The studies' index rows are written as index partitions, exactly
   as reindex writes them (ingesting 100,000 real studies would take hours
   here), followed by a tail of real commits the loader must replay.

Usage: .venv/bin/python bench/store.py [--backends file,moto-server] [--slices 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mintstore.adapters import ObjectStore, PutMode
from mintstore.adapters.counting import CountingStore
from mintstore.store import Actor, SearchQuery, StoreConfig, StudyStore
from mintstore.store.layout import study_key
from mintstore.store.records import IndexRow
from mintstore.synthetic import write_ct_series
from mintstore.testing.backends import BackendPool

WORKERS = 8
ROOT = Path(__file__).resolve().parents[1]


def raw_upload(objects: ObjectStore, paths: list[Path]) -> float:
    started = time.perf_counter()

    def one(index_path: tuple[int, Path]) -> None:
        index, path = index_path
        with path.open("rb") as stream:
            objects.put(f"raw/{index:06d}.dcm", stream, mode=PutMode.OVERWRITE)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, enumerate(paths)))
    return time.perf_counter() - started


def raw_copy_without_fsync(directory: Path, paths: list[Path]) -> float:
    """The same files copied into a directory with the same workers, no fsync.

    The file store fsyncs every object (and its directory) before a put
    returns; the reference above does too, since it goes through the same
    store. This one does not, so the report shows what durability costs
    instead of hiding it in the ratio.
    """
    directory.mkdir(parents=True)
    started = time.perf_counter()

    def one(index_path: tuple[int, Path]) -> None:
        index, path = index_path
        with path.open("rb") as source, (directory / f"{index:06d}.dcm").open("xb") as target:
            while chunk := source.read(1024 * 1024):
                target.write(chunk)

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, enumerate(paths)))
    return time.perf_counter() - started


def parse_only(paths: list[Path]) -> float:
    """The conversion alone (Part-10 -> MINT, no storage): the CPU floor of ingest."""
    from mintstore.convert import StudyBuilder, read_part10

    with paths[0].open("rb") as stream:  # first use imports pydicom's lazy parts: not timed
        StudyBuilder().add_dataset(read_part10(stream))
    started = time.perf_counter()
    builder = StudyBuilder()
    for path in paths:
        with path.open("rb") as stream:
            builder.add_dataset(read_part10(stream))
    return time.perf_counter() - started


def engine_ingest(objects: ObjectStore, paths: list[Path]) -> tuple[float, int, dict[str, int]]:
    counting = CountingStore(objects)
    store = StudyStore(counting, StoreConfig(upload_workers=WORKERS))
    counting.reset()  # the descriptor check is per store, not per study
    started = time.perf_counter()
    with store.begin_ingest() as session:
        for path in paths:
            with path.open("rb") as stream:
                session.add_part10(stream)
        session.commit(Actor("bench", None))
    return time.perf_counter() - started, counting.total, dict(counting.counts)


def bench_ingest(pool: BackendPool, backend: str, slices: int, workdir: Path) -> None:
    series = write_ct_series(workdir / f"ingest-{backend}", slices)
    size = sum(p.stat().st_size for p in series.paths)
    spec = pool.get(backend).fresh()
    parse = parse_only(series.paths)
    with spec.open() as objects:
        raw = raw_upload(objects, series.paths)
        engine, requests, counts = engine_ingest(objects, series.paths)
    durability = "with fsync, as the store" if backend == "file" else "same store"
    # Binary items = one per frame = one per slice here.
    print(
        f"[{backend}] ingest {slices} x 512x512 ({size / 1e6:.0f} MB): "
        f"engine {engine:.2f} s, raw parallel upload {raw:.2f} s ({durability}), "
        f"ratio {engine / raw:.2f}x (goal <= 1.3x); conversion alone {parse:.2f} s "
        f"(engine / max(raw, conversion) = {engine / max(raw, parse):.2f}x); "
        f"requests {requests} = items {slices} + {requests - slices} "
        f"(goal <= 10) {counts}"
    )
    if backend == "file":
        unsynced = raw_copy_without_fsync(workdir / f"copy-{backend}", series.paths)
        print(
            f"[{backend}] raw parallel copy without fsync {unsynced:.2f} s: "
            f"engine / it = {engine / unsynced:.2f}x (what durability adds is in this ratio "
            f"only, never dropped to win it)"
        )


def _rows(count: int, rng: random.Random) -> list[tuple[str, IndexRow]]:
    modalities = ["CT", "MR", "US", "CR", "DX", "MG", "PT", "NM"]
    rows = []
    for i in range(count):
        uid = f"1.2.826.0.1.3680043.8.498.{rng.randrange(10**12)}.{i}"
        rows.append(
            (
                study_key(uid),
                IndexRow(
                    study_uid=uid,
                    version=0,
                    last_modified="2026-11-24T12:00:00+00:00",
                    patient_id=f"PAT{rng.randrange(count // 3 + 1):07d}",
                    patient_id_issuer=rng.choice(["HOSP-A", "HOSP-B", None]),
                    accession_number=f"ACC{i:08d}",
                    modalities=(rng.choice(modalities),),
                    study_date=f"{rng.randrange(1995, 2026)}{rng.randrange(1, 13):02d}"
                    f"{rng.randrange(1, 29):02d}",
                    study_time=f"{rng.randrange(24):02d}{rng.randrange(60):02d}00",
                    instances=rng.randrange(1, 500),
                ),
            )
        )
    return rows


def bench_search(pool: BackendPool, backend: str, count: int, workdir: Path) -> None:
    rng = random.Random(count)
    rows = _rows(count, rng)
    spec = pool.get(backend).fresh()
    with spec.open() as objects:
        StudyStore(objects).index_maintenance.replace(rows, 0)  # partitions, as reindex writes them
        # a tail of real commits after the manifest
        writer = StudyStore(objects)
        tail = write_ct_series(workdir / f"tail-{backend}-{count}", 5, rows=8, columns=8)
        with writer.begin_ingest() as session:
            for path in tail.paths:
                with path.open("rb") as stream:
                    session.add_part10(stream)
            session.commit(Actor("bench", None))
        reader = StudyStore(objects)
        started = time.perf_counter()
        reader.search(SearchQuery(limit=1))  # the first search loads the index
        load = time.perf_counter() - started
        queries = []
        for _ in range(200):
            _, row = rows[rng.randrange(count)]
            queries.append(
                rng.choice(
                    [
                        SearchQuery(patient_id=row.patient_id),
                        SearchQuery(accession_number=row.accession_number),
                        SearchQuery(study_instance_uid=row.study_uid),
                        SearchQuery(
                            modalities_in_study=row.modalities,
                            min_study_date=row.study_date,
                            max_study_date=row.study_date,
                        ),
                        SearchQuery(limit=100),
                        SearchQuery(patient_id=row.patient_id, patient_id_issuer="HOSP-A"),
                    ]
                )
            )
        timings = []
        for query in queries:
            started = time.perf_counter()
            page = reader.search(query)
            timings.append((time.perf_counter() - started) * 1000)
            assert page.results or query.patient_id_issuer or query.min_study_date
        found = reader.search(SearchQuery(study_instance_uid=tail.study_instance_uid)).results
        assert len(found) == 1
        timings.sort()
        print(
            f"[{backend}] search over {count:,} studies: load {load:.2f} s (goal <= 5 s "
            f"for 100,000); warm query p50 {statistics.median(timings):.2f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms (goal p50 <= 10 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="file,moto-server")
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--studies", default="10000,100000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, BackendPool(ROOT / ".tools") as pool:
        workdir = Path(tmp)
        for backend in args.backends.split(","):
            with pool.get(backend).activate():
                bench_ingest(pool, backend, args.slices, workdir)
                for count in (int(c) for c in args.studies.split(",")):
                    bench_search(pool, backend, count, workdir)


if __name__ == "__main__":
    main()
