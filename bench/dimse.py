"""The DIMSE gateway against Orthanc 1.10's DICOM server, in one run.

Usage: .venv/bin/python bench/dimse.py [--slices 300] [--studies 100000] [--queries 200]

1. storescu of a synthetic 300-slice 512x512 CT study (one association, dcmtk
   defaults) into the gateway and into Orthanc's Storage SCP: wall time and
   instances/s (goal: gateway >= 2x Orthanc). For the gateway also the time
   until the last batch is committed (visible to every reader): the success
   statuses come when each instance is durable in the spool, the commit follows.
2. C-FIND latency at STUDY level with 100,000 studies in the gateway's index
   (rows written synthetically as index partitions, as bench/store.py does, plus
   the real CT study): p50/p95 over pynetdicom queries on one association,
   keyed by the real study's PatientID, by its StudyInstanceUID, and by
   random PatientIDs of synthetic rows (whose metadata documents do not
   exist: these measure the index plus one failed read per candidate).
3. C-MOVE of the whole study to a dcmtk storescp, from the gateway and from
   Orthanc (movescu wall time).

Orthanc binds 0.0.0.0, so the benchmark re-runs itself inside ``unshare -n``
with only loopback up (Orthanc is installed by scripts/setup/60-dicom-peers.sh).
Absolute numbers depend on the load of this shared machine: compare the two
columns of one run, and quote ``uptime`` with them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
)

from mintstore.adapters.registry import open_store
from mintstore.dimse.spool import SPOOL_PREFIX
from mintstore.dimse.transport import no_delay
from mintstore.store import StudyStore
from mintstore.store.layout import study_key
from mintstore.store.records import IndexRow
from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.testing.dcmtk import dcmtk_tool
from mintstore.testing.dimse_server import DimseProcess, StoreSCP
from mintstore.testing.orthanc_dimse import ORTHANC_DICOM, start_orthanc

ROOT = Path(__file__).resolve().parents[1]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def seed_index(store_url: str, count: int, rng: random.Random) -> list[str]:
    """``count`` synthetic index rows as one manifest; returns their patient IDs."""
    rows = []
    patients = []
    for i in range(count):
        uid = f"1.2.826.0.1.3680043.8.498.{rng.randrange(10**12)}.{i}"
        patient = f"PAT{rng.randrange(count // 3 + 1):07d}"
        patients.append(patient)
        rows.append(
            (
                study_key(uid),
                IndexRow(
                    study_uid=uid,
                    version=0,
                    last_modified="2026-11-24T12:00:00+00:00",
                    patient_id=patient,
                    accession_number=f"ACC{i:08d}",
                    modalities=(rng.choice(["CT", "MR", "US", "CR"]),),
                    study_date=f"{rng.randrange(1995, 2026)}{rng.randrange(1, 13):02d}"
                    f"{rng.randrange(1, 29):02d}",
                    study_time="120000",
                    instances=rng.randrange(1, 500),
                ),
            )
        )
    objects = open_store(store_url, {})
    # partitions, as bench/store.py writes them
    StudyStore(objects).index_maintenance.replace(rows, 0)
    objects.close()
    return patients


def wait_committed(store_url: str, timeout: float = 300) -> None:
    objects = open_store(store_url, {})
    deadline = time.monotonic() + timeout
    while any(True for _ in objects.list(SPOOL_PREFIX)):
        if time.monotonic() > deadline:
            raise RuntimeError("the gateway did not commit its spool")
        time.sleep(0.01)
    objects.close()


def find_latencies(port: int, identifiers: list[Dataset]) -> tuple[list[float], int]:
    ae = AE(ae_title="BENCHSCU")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    # TCP_NODELAY on the client too (as dcmtk does): pynetdicom leaves Nagle on,
    # which adds ~40 ms to every request whose identifier follows its command
    assoc = ae.associate(
        "127.0.0.1", port, ae_title="MINTSTORE", evt_handlers=[(evt.EVT_CONN_OPEN, no_delay)]
    )
    assert assoc.is_established
    timings, matches = [], 0
    try:
        for identifier in identifiers:
            started = time.perf_counter()
            for status, found in assoc.send_c_find(
                identifier, StudyRootQueryRetrieveInformationModelFind
            ):
                if found is not None and status.Status in (0xFF00, 0xFF01):
                    matches += 1
                elif status.Status not in (0x0000, 0xFF00, 0xFF01):
                    raise RuntimeError(f"C-FIND failed: 0x{status.Status:04X}")
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        assoc.release()
    return sorted(timings), matches


def _study_query(**keys: str) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = ""
    identifier.PatientName = ""
    identifier.StudyDate = ""
    identifier.NumberOfStudyRelatedInstances = ""
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    return identifier


def _percentiles(timings: list[float]) -> str:
    return (
        f"p50 {statistics.median(timings):.1f} ms, p95 {timings[int(len(timings) * 0.95)]:.1f} ms"
    )


def run(slices: int, studies: int, queries: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-dimse-"))
    try:
        print(f"load before: {uptime()}")
        series = write_ct_series(work / "ct", slices, seed=1)
        folder = str(series.paths[0].parent)
        size_mb = sum(path.stat().st_size for path in series.paths) / 1e6
        print(f"study: {slices} CT slices 512x512, {size_mb:.0f} MB")
        store_url = (work / "mint").as_uri()
        (work / "mint").mkdir()
        rng = random.Random(7)
        patients = seed_index(store_url, studies, rng)
        scp = StoreSCP(work / "storescp")
        orthanc = start_orthanc(
            work, 11112, peers={"storescp": ["STORESCP", "127.0.0.1", scp.port]}
        )
        gateway = DimseProcess(
            store_url, options=["--destination", f"STORESCP=127.0.0.1:{scp.port}"],
            log_path=work / "gateway.log",
        )  # fmt: skip
        try:
            _compare(series, folder, slices, store_url, gateway, scp, studies, queries, patients)
        finally:
            gateway.stop()
            scp.stop()
            orthanc.terminate()
            orthanc.wait(timeout=30)
        print(f"load after: {uptime()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _compare(
    series: SyntheticSeries,
    folder: str,
    slices: int,
    store_url: str,
    gateway: DimseProcess,
    scp: StoreSCP,
    studies: int,
    queries: int,
    patients: list[str],
) -> None:
    # 1. storescu into each
    started = time.perf_counter()
    subprocess.run(
        [dcmtk_tool("storescu"), "-aec", "MINTSTORE", "+sd",
         "127.0.0.1", str(gateway.port), folder],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    mint_store = time.perf_counter() - started
    wait_committed(store_url)
    mint_visible = time.perf_counter() - started
    orthanc_store = timed([dcmtk_tool("storescu"), "-aec", "ORTHANC", "+sd",
                           "127.0.0.1", str(ORTHANC_DICOM), folder])  # fmt: skip
    print(f"{'':34}{'mintstore':>12}{'orthanc':>12}")
    print(f"{'storescu, all acknowledged (s)':34}{mint_store:12.2f}{orthanc_store:12.2f}")
    print(f"{'storescu, instances/s':34}{slices / mint_store:12.1f}{slices / orthanc_store:12.1f}")
    print(f"{'  ... committed, visible (s)':34}{mint_visible:12.2f}")
    print(f"ratio storescu rate mintstore/orthanc: {orthanc_store / mint_store:.2f}x (goal >= 2)")

    # 3. C-MOVE to storescp from each
    move = [dcmtk_tool("movescu"), "-S", "-aem", "STORESCP", "-k", "QueryRetrieveLevel=STUDY",
            "-k", f"StudyInstanceUID={series.study_instance_uid}"]  # fmt: skip
    mint_move = timed([*move, "-aec", "MINTSTORE", "127.0.0.1", str(gateway.port)])
    received_mint = len(scp.files())
    for path in scp.files():
        path.unlink()
    orthanc_move = timed([*move, "-aec", "ORTHANC", "127.0.0.1", str(ORTHANC_DICOM)])
    received_orthanc = len(scp.files())
    assert received_mint == received_orthanc == slices, (received_mint, received_orthanc)
    print(f"{'C-MOVE study to storescp (s)':34}{mint_move:12.2f}{orthanc_move:12.2f}")
    print(f"ratio C-MOVE rate mintstore/orthanc: {orthanc_move / mint_move:.2f}x")

    # 2. C-FIND at STUDY level over the seeded index
    real_patient = _real_patient(series)
    by_patient, hits = find_latencies(
        gateway.port, [_study_query(PatientID=real_patient)] * queries
    )
    assert hits == queries, hits
    by_uid, _ = find_latencies(
        gateway.port, [_study_query(StudyInstanceUID=series.study_instance_uid)] * queries
    )
    rng = random.Random(3)
    synthetic, _ = find_latencies(
        gateway.port, [_study_query(PatientID=rng.choice(patients)) for _ in range(queries)]
    )
    findscu = timed([dcmtk_tool("findscu"), "-S", "-aec", "MINTSTORE",
                     "-k", "QueryRetrieveLevel=STUDY",
                     "-k", f"PatientID={real_patient}", "-k", "StudyInstanceUID",
                     "127.0.0.1", str(gateway.port)])  # fmt: skip
    print(f"C-FIND STUDY level, {studies + 1:,} studies in the index, {queries} queries each:")
    print(f"  PatientID of the real study (1 match):   {_percentiles(by_patient)}")
    print(f"  StudyInstanceUID of the real study:       {_percentiles(by_uid)}")
    print(f"  PatientID of synthetic rows (no docs):    {_percentiles(synthetic)}")
    print(f"  one findscu process, start to exit:       {findscu * 1000:.0f} ms")


def _real_patient(series: SyntheticSeries) -> str:
    from pydicom import dcmread

    return str(dcmread(series.paths[0], stop_before_pixels=True).PatientID)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inside:
        subprocess.run(["bash", str(ROOT / "bench" / "setup-orthanc.sh")], check=True)
        command = " ".join(
            [sys.executable, str(Path(__file__).resolve()), "--inside",
             "--slices", str(args.slices), "--studies", str(args.studies),
             "--queries", str(args.queries)]
        )  # fmt: skip
        raise SystemExit(
            subprocess.run(
                ["unshare", "-n", "bash", "-c", f"ip link set lo up && exec {command}"],
                env=os.environ,
            ).returncode
        )
    run(args.slices, args.studies, args.queries)


if __name__ == "__main__":
    main()
