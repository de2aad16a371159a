"""The HTTP API against Orthanc 1.10 (DICOMweb) and a raw copy of the same bytes, in one run.

Usage: python bench/http_api.py [--slices 300] [--ingests 3] [--large-gb 2.0] [--no-orthanc]

For a synthetic CT study (``mintstore.synthetic``, 512x512 slices) it measures:

* ingest: ``POST /studies/create`` (one streamed multipart/related request)
  vs. Orthanc's STOW-RS of the same files (one request) vs. raw puts of the
  same bytes into a file store; each HTTP body in its server's faster framing
  (mintstore's client sends a Content-Length, Orthanc's STOW-RS goes chunked);
* whole-study retrieval: ``GET /studies/{uid}`` with ``Accept:
  multipart/related`` (metadata + every binary item) vs. WADO-RS of the study
  vs. raw gets of the same bytes;
* time to first image: search + ``metadata.gpb`` + the first binary item vs.
  QIDO + series metadata + the first frame (median of 5, fresh connections);
* the server's peak RSS while ingesting ``--large-gb`` of slices.

Each side ingests ``--ingests`` studies (fresh UIDs), the sides taking turns study
by study; ingest figures are medians. Reads use the first study.

Orthanc binds 0.0.0.0 with no option to change it, so the whole benchmark
(mintstore, Orthanc and the client) re-runs itself inside ``unshare -n`` with
only the loopback interface up. Orthanc is installed by bench/setup-orthanc.sh.
Goals: ingest >= 2x Orthanc, retrieval >= 2x Orthanc, first image <= 50 ms,
RSS during a 2 GB ingest <= 300 MB. Figures print whatever they are.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from mintstore.adapters.registry import open_store
from mintstore.client import MintClient
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess

REPO = Path(__file__).resolve().parents[1]
ORTHANC_PORT = 8042
CHUNK = 1024 * 1024


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _drain(response: http.client.HTTPResponse) -> int:
    total = 0
    while chunk := response.read(CHUNK):
        total += len(chunk)
    return total


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=600)


def _multipart(files: Iterable[Path], boundary: str) -> Iterator[bytes]:
    for path in files:
        yield f"\r\n--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class _PeakRss:
    """Polls a process's resident set size in the background and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _rss_kb(self.pid))
            time.sleep(0.05)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


# --- mintstore ------------------------------------------------------------------------


class MintSide:
    """``mintstore serve`` on a fresh file store, for the whole run."""

    def __init__(self, work: Path) -> None:
        store_dir = work / "mint-store"
        store_dir.mkdir()
        self.server = ServerProcess(store_dir.as_uri())
        self.client = MintClient(self.server.url)

    def close(self) -> None:
        self.client.close()
        self.server.stop()

    def ingest(self, files: list[Path]) -> float:
        return _timed(lambda: self.client.push_files(files))

    def reads(self, study_uid: str) -> dict[str, float]:
        server = self.server
        port = int(server.url.rsplit(":", 1)[1])
        results: dict[str, float] = {}

        def whole_study() -> None:
            connection = _connection(port)
            connection.request(
                "GET", f"/studies/{study_uid}", headers={"Accept": "multipart/related"}
            )
            response = connection.getresponse()
            assert response.status == 200, response.status
            results["retrieved_bytes"] = _drain(response)
            connection.close()

        # The first GET in the server process checks every item's SHA-256; later ones
        # a remembered XXH3 (the way a second viewer finds the server): both printed.
        results["retrieve_first_s"] = _timed(whole_study)
        results["retrieve_s"] = min(_timed(whole_study) for _ in range(3))

        def first_image() -> None:
            fresh = MintClient(server.url)
            (hit,) = list(fresh.search(studyInstanceUID=study_uid))
            metadata = fresh.metadata(study_uid, variant="gpb")
            series = metadata.sorted_series()[0]
            instance = series.sorted_instances()[0]
            pixel = instance.attributes.get(0x7FE00010) or series.normalized_attributes[0x7FE00010]
            assert pixel.bid is not None and hit.version == 0
            fresh.binary_item(study_uid, pixel.bid)
            fresh.close()

        first_image()
        results["first_image_s"] = statistics.median(_timed(first_image) for _ in range(5))
        return results


def _study_of(path: Path) -> str:
    from pydicom import dcmread

    return str(dcmread(path, stop_before_pixels=True).StudyInstanceUID)


class RawSide:
    """The same bytes put into and read back from a plain file store: the floor."""

    def __init__(self, work: Path) -> None:
        self.store = open_store((work / "raw-store").as_uri())
        self.keys: list[list[str]] = []

    def close(self) -> None:
        self.store.close()

    def ingest(self, files: list[Path]) -> float:
        keys = [f"raw/{len(self.keys)}/{index:06d}" for index in range(len(files))]
        self.keys.append(keys)

        def put_all() -> None:
            for key, path in zip(keys, files, strict=True):
                with path.open("rb") as stream:
                    self.store.put(key, stream)

        return _timed(put_all)

    def reads(self, study_uid: str) -> dict[str, float]:
        def get_all() -> None:
            for key in self.keys[0]:
                with self.store.get(key) as reader:
                    for _ in reader.iter_chunks():
                        pass

        return {"retrieve_s": min(_timed(get_all) for _ in range(3))}


def bench_large_ingest(gigabytes: float, work: Path) -> dict[str, float]:
    """Peak server RSS while one streamed request ingests ``gigabytes`` of slices."""
    slices = max(1, int(gigabytes * 1024**3 / (512 * 512 * 2 + 1500)))
    source = work / "large"
    write_ct_series(source, slices, seed=7)
    files = sorted(source.glob("*.dcm"))
    size = sum(path.stat().st_size for path in files)
    store_dir = work / "large-store"
    store_dir.mkdir()
    with ServerProcess(
        store_dir.as_uri(), options=["--max-request-bytes", str(64 * 1024**3)]
    ) as server:
        client = MintClient(server.url, timeout=3600)
        with _PeakRss(server.process.pid) as peak:
            seconds = _timed(lambda: client.push_files(files))
        client.close()
    shutil.rmtree(source)
    return {"bytes": size, "slices": slices, "seconds": seconds, "peak_rss_mb": peak.peak_kb / 1024}


# --- Orthanc --------------------------------------------------------------------------


def _start_orthanc(work: Path) -> subprocess.Popen[bytes]:
    config = {
        "Name": "bench",
        "StorageDirectory": str(work / "orthanc-storage"),
        "IndexDirectory": str(work / "orthanc-index"),
        "HttpPort": ORTHANC_PORT,
        "DicomPort": 4242,
        "AuthenticationEnabled": False,
        "RemoteAccessAllowed": False,
        "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "StorageCompression": False,
    }
    path = work / "orthanc.json"
    path.write_text(json.dumps(config))
    process = subprocess.Popen(
        ["Orthanc", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = _connection(ORTHANC_PORT)
            connection.request("GET", "/system")
            if connection.getresponse().status == 200:
                connection.close()
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("Orthanc did not start")


class OrthancSide:
    """Orthanc 1.10 + its DICOMweb plugin, fresh storage, for the whole run."""

    def __init__(self, work: Path) -> None:
        self.process = _start_orthanc(work)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def ingest(self, files: list[Path]) -> float:
        def stow() -> None:
            boundary = "stow-" + secrets.token_hex(8)
            connection = _connection(ORTHANC_PORT)
            connection.request(
                "POST",
                "/dicom-web/studies",
                body=_multipart(files, boundary),
                headers={
                    "Content-Type": (
                        f'multipart/related; type="application/dicom"; boundary={boundary}'
                    ),
                    "Accept": "application/dicom+json",
                },
                # Chunked: Orthanc 1.10 takes the same body sent with a Content-Length
                # more slowly (alternating, 3 each: 3.93 vs 3.48 s), so each side gets
                # its faster framing (MintClient sends a Content-Length).
                encode_chunked=True,
            )
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            connection.close()

        return _timed(stow)

    def reads(self, study_uid: str) -> dict[str, float]:
        results: dict[str, float] = {}

        def wado() -> None:
            connection = _connection(ORTHANC_PORT)
            connection.request(
                "GET",
                f"/dicom-web/studies/{study_uid}",
                headers={"Accept": 'multipart/related; type="application/dicom"'},
            )
            response = connection.getresponse()
            assert response.status == 200, response.status
            results["retrieved_bytes"] = _drain(response)
            connection.close()

        results["retrieve_first_s"] = _timed(wado)
        results["retrieve_s"] = min(_timed(wado) for _ in range(3))

        def first_image() -> None:
            connection = _connection(ORTHANC_PORT)
            connection.request(
                "GET",
                f"/dicom-web/studies?StudyInstanceUID={study_uid}",
                headers={"Accept": "application/dicom+json"},
            )
            connection.getresponse().read()
            connection.request(
                "GET",
                f"/dicom-web/studies/{study_uid}/series",
                headers={"Accept": "application/dicom+json"},
            )
            series_uid = json.loads(connection.getresponse().read())[0]["0020000E"]["Value"][0]
            connection.request(
                "GET",
                f"/dicom-web/studies/{study_uid}/series/{series_uid}/metadata",
                headers={"Accept": "application/dicom+json"},
            )
            instances = json.loads(connection.getresponse().read())
            first = min(instances, key=lambda item: item["00080018"]["Value"][0])
            sop_uid = first["00080018"]["Value"][0]
            connection.request(
                "GET",
                f"/dicom-web/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/1",
                headers={"Accept": 'multipart/related; type="application/octet-stream"'},
            )
            response = connection.getresponse()
            assert response.status == 200, response.status
            _drain(response)
            connection.close()

        first_image()
        results["first_image_s"] = statistics.median(_timed(first_image) for _ in range(5))
        results["rss_mb"] = _rss_kb(self.process.pid) / 1024
        return results


# --- driver ---------------------------------------------------------------------------


class _Side(Protocol):
    def ingest(self, files: list[Path]) -> float: ...
    def reads(self, study_uid: str) -> dict[str, float]: ...
    def close(self) -> None: ...


def _alternated(
    studies: list[list[Path]], work: Path, *, with_orthanc: bool
) -> dict[str, dict[str, Any]]:
    """Every side ingests every study, the sides taking turns study by study (a load
    spike hits all of them); then each reads the first study back.

    One ingest's wall time is not a figure on this machine (identical runs:
    1.0-1.9 s), so the report takes the median of ``len(studies)`` of them.
    """
    makers: dict[str, Callable[[Path], _Side]] = {"mintstore": MintSide, "raw": RawSide}
    if with_orthanc:
        makers["orthanc"] = OrthancSide
    sides: dict[str, _Side] = {}
    try:
        for name, make in makers.items():
            sides[name] = make(work)
        ingests: dict[str, list[float]] = {name: [] for name in sides}
        for files in studies:
            for name, side in sides.items():
                ingests[name].append(side.ingest(files))
        study_uid = _study_of(studies[0][0])
        results: dict[str, dict[str, Any]] = {}
        for name, side in sides.items():
            results[name] = {
                **side.reads(study_uid),
                "ingests": ingests[name],
                "ingest_s": statistics.median(ingests[name]),
            }
        return results
    finally:
        for side in sides.values():
            side.close()


def _report(
    slices: int,
    size: int,
    results: dict[str, dict[str, Any]],
    large: dict[str, float] | None,
) -> None:
    mb = size / 1024**2
    mint, raw, orthanc = results["mintstore"], results["raw"], results.get("orthanc")
    print(f"load average at the end: {_load()}")
    print(f"study: {slices} slices of 512x512, {mb:.1f} MB of Part-10")
    for name, figures in results.items():
        each = ", ".join(f"{seconds:.2f}" for seconds in figures["ingests"])
        print(f"ingests, {name}, in turn with the others (s): {each}")
    print(f"{'':28}{'mintstore':>12}{'orthanc':>12}{'raw':>12}")

    def row(label: str, key: str, unit: Callable[[float], str]) -> None:
        values = [mint.get(key), orthanc.get(key) if orthanc else None, raw.get(key)]
        cells = [unit(v) if v is not None else "-" for v in values]
        print(f"{label:28}" + "".join(f"{cell:>12}" for cell in cells))

    row("ingest, median (inst/s)", "ingest_s", lambda s: f"{slices / s:.0f}")
    row("ingest, median (MB/s)", "ingest_s", lambda s: f"{mb / s:.0f}")
    row("whole study, first GET (s)", "retrieve_first_s", lambda s: f"{s:.2f}")
    row("whole study (s)", "retrieve_s", lambda s: f"{s:.2f}")
    row("whole study (MB/s)", "retrieve_s", lambda s: f"{mb / s:.0f}")
    row("time to first image (ms)", "first_image_s", lambda s: f"{s * 1000:.1f}")
    if orthanc:
        ingest_ratio = orthanc["ingest_s"] / mint["ingest_s"]
        retrieve_ratio = orthanc["retrieve_s"] / mint["retrieve_s"]
        print(f"ratio ingest rate mintstore/orthanc (medians): {ingest_ratio:.2f}x (goal >= 2)")
        print(f"ratio retrieval rate mintstore/orthanc: {retrieve_ratio:.2f}x (goal >= 2)")
        first_ratio = orthanc["retrieve_first_s"] / mint["retrieve_first_s"]
        print(f"ratio of the first GETs (mintstore checks SHA-256): {first_ratio:.2f}x")
        print(f"orthanc RSS after the run: {orthanc['rss_mb']:.0f} MB")
    print(
        f"ratio ingest time mintstore/raw puts (fsynced, same bytes, medians): "
        f"{mint['ingest_s'] / raw['ingest_s']:.2f}x (goal <= 3)"
    )
    print(f"ratio retrieval time mintstore/raw gets: {mint['retrieve_s'] / raw['retrieve_s']:.2f}x")
    print(f"time to first image: {mint['first_image_s'] * 1000:.1f} ms (goal <= 50 ms)")
    if large:
        print(
            f"large ingest: {large['bytes'] / 1024**3:.2f} GB ({large['slices']:.0f} slices) in "
            f"{large['seconds']:.1f} s ({large['bytes'] / 1024**2 / large['seconds']:.0f} MB/s), "
            f"server peak RSS {large['peak_rss_mb']:.0f} MB (goal <= 300 MB)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--large-gb", type=float, default=2.0, help="0 skips the RSS run")
    parser.add_argument("--no-orthanc", action="store_true")
    parser.add_argument(
        "--ingests", type=int, default=3, help="studies each side ingests, alternating (median)"
    )
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.no_orthanc and not args.inside:
        subprocess.run(["bash", str(REPO / "bench" / "setup-orthanc.sh")], check=True)
        command = " ".join(
            [sys.executable, str(Path(__file__).resolve()), "--inside", *(argv or sys.argv[1:])]
        )
        return subprocess.run(
            ["unshare", "-n", "bash", "-c", f"ip link set lo up && exec {command}"], env=os.environ
        ).returncode
    print(f"load average at the start: {_load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mint-bench-http-") as temp:
        work = Path(temp)
        studies = []
        for index in range(args.ingests):
            write_ct_series(work / f"ct{index}", args.slices, seed=1 + index)
            studies.append(sorted((work / f"ct{index}").glob("*.dcm")))
        size = sum(path.stat().st_size for path in studies[0])
        # The studies just written are ~450 MB of dirty pages: written back during
        # the timed ingests they compete with every side, and they made the file
        # store's batch sync directory by directory (it avoids syncfs while much
        # is unwritten). A quiet machine has them on disk already.
        os.sync()
        results = _alternated(studies, work, with_orthanc=not args.no_orthanc)
        large = bench_large_ingest(args.large_gb, work) if args.large_gb > 0 else None
        _report(args.slices, size, results, large)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
