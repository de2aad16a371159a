"""DICOMweb of mintstore against Orthanc 1.10 + its DICOMweb plugin, in one run.

Usage: python bench/dicomweb.py [--slices 300] [--metadata-instances 1000] [--repeat 3]
       [--client stream|accumulate]

The same raw-HTTP client code (http.client, same bytes) runs against both
servers, each on a fresh store:

* STOW-RS of a synthetic CT series (``--slices`` 512x512 slices, one request);
* WADO-RS of that whole study (multipart/related application/dicom);
* series metadata (WADO-RS) of a ``--metadata-instances`` series (64x64 slices);
* first frame of a series after QIDO: QIDO series + QIDO instances (limit 1)
  + frames/1, on one fresh connection;
* a thumbnail (Orthanc 1.10 has no /thumbnail: its /rendered?viewport=128,128).

Best of ``--repeat`` for each read, the two servers alternating (a load spike
hits both). Orthanc binds 0.0.0.0, so the benchmark re-runs itself inside a
private network namespace (mintstore.testing.orthanc).
Goals (MINT-SPEC 10 / issue 10): STOW and WADO >= 2x Orthanc's rate, series
metadata >= 10x faster, first frame <= 50 ms. Figures print whatever they are.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess, free_port
from mintstore.testing.orthanc import OrthancProcess, in_private_network, run_in_private_network

REPO = Path(__file__).resolve().parents[1]
JSON = {"Accept": "application/dicom+json"}
CHUNK = 1024 * 1024
STREAM_BUFFER = 4 * 1024 * 1024


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Peer:
    """A DICOMweb root spoken to over raw HTTP."""

    def __init__(self, name: str, root: str, pid: Callable[[], int] | None = None) -> None:
        parts = urlsplit(root)
        self.name = name
        #: The serving process, whose CPU time is reported per WADO-RS.
        self.pid = pid
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=600)

    def get(
        self, connection: http.client.HTTPConnection, path: str, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        connection.request("GET", self.prefix + path, headers=headers)
        response = connection.getresponse()
        body = bytearray()
        while chunk := response.read(CHUNK):
            body += chunk
        return response.status, bytes(body)

    def get_streamed(
        self, connection: http.client.HTTPConnection, path: str, headers: dict[str, str]
    ) -> tuple[int, int]:
        """Status and size of a body read into one reused buffer and dropped, as a
        client that hands each chunk on (to a file, a viewer) reads it: no copy
        of the whole body is made, so the figure is the server's rather than
        this client's memory traffic."""
        connection.request("GET", self.prefix + path, headers=headers)
        response = connection.getresponse()
        view = memoryview(bytearray(STREAM_BUFFER))
        size = 0
        while count := response.readinto(view):
            size += count
        return response.status, size

    def stow(self, files: list[Path]) -> int:
        boundary = "bench-" + secrets.token_hex(8)
        connection = self.connect()
        connection.request(
            "POST",
            self.prefix + "/studies",
            body=_multipart(files, boundary),
            headers={
                "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                "Accept": "application/dicom+json",
            },
            encode_chunked=True,
        )
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status


def _multipart(files: list[Path], boundary: str) -> Iterator[bytes]:
    for path in files:
        data = path.read_bytes()
        yield (
            f"--{boundary}\r\nContent-Type: application/dicom\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        yield data
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


class Suite:
    """The measurements against one peer; each method is one timed request (sequence)."""

    def __init__(
        self, peer: Peer, ct_study: str, meta_study: str, meta_series: str, streamed: bool
    ) -> None:
        self.peer = peer
        #: WADO-RS read by ``Peer.get_streamed`` (else accumulated, ``Peer.get``).
        self.streamed = streamed
        self.ct_study = ct_study
        self.meta = f"/studies/{meta_study}/series/{meta_series}/metadata"
        self.results: dict[str, float] = {}
        self.wado_rounds: list[float] = []
        self.wado_cpu: list[float] = []
        self.wado_client_cpu: list[float] = []
        self.instance = ""
        self.metadata_body = b""

    def keep_best(self, key: str, seconds: float) -> None:
        self.results[key] = min(seconds, self.results.get(key, float("inf")))

    def stow(self, ct: list[Path], meta: list[Path]) -> None:
        status = 0

        def send() -> None:
            nonlocal status
            status = self.peer.stow(ct)

        self.results["stow_s"] = _timed(send)
        assert status == 200, f"{self.peer.name} STOW answered {status}"
        assert self.peer.stow(meta) == 200, f"{self.peer.name} STOW of the metadata series failed"

    def wado(self) -> None:
        connection = self.peer.connect()
        accept = {"Accept": 'multipart/related; type="application/dicom"'}
        pid = self.peer.pid() if self.peer.pid is not None else None
        cpu = _cpu_seconds(pid) if pid is not None else 0.0
        client_cpu = time.process_time()
        started = time.perf_counter()
        path = f"/studies/{self.ct_study}"
        if self.streamed:
            status, size = self.peer.get_streamed(connection, path, accept)
        else:
            status, body = self.peer.get(connection, path, accept)
            size = len(body)
        self.wado_rounds.append(time.perf_counter() - started)
        self.wado_client_cpu.append(time.process_time() - client_cpu)
        if pid is not None:
            self.wado_cpu.append(_cpu_seconds(pid) - cpu)
        self.keep_best("wado_s", self.wado_rounds[-1])
        assert status == 200, status
        self.results["wado_bytes"] = size
        connection.close()

    def metadata(self) -> None:
        # The response only: parsing 3 MB of JSON is the client's time, not the server's.
        connection = self.peer.connect()
        started = time.perf_counter()
        status, body = self.peer.get(connection, self.meta, JSON)
        elapsed = time.perf_counter() - started
        self.results.setdefault("metadata_first_s", elapsed)  # nothing cached yet
        self.keep_best("metadata_s", elapsed)
        assert status == 200, status
        self.metadata_body = body
        connection.close()

    def first_frame(self) -> None:
        peer, study = self.peer, self.ct_study
        connection = peer.connect()
        started = time.perf_counter()
        status, body = peer.get(connection, f"/studies/{study}/series", JSON)
        assert status == 200, status
        series = json.loads(body)[0]["0020000E"]["Value"][0]
        status, body = peer.get(
            connection, f"/studies/{study}/series/{series}/instances?limit=1", JSON
        )
        assert status == 200, status
        sop = json.loads(body)[0]["00080018"]["Value"][0]
        self.instance = f"/studies/{study}/series/{series}/instances/{sop}"
        octets = {"Accept": 'multipart/related; type="application/octet-stream"'}
        status, body = peer.get(connection, self.instance + "/frames/1", octets)
        self.keep_best("first_frame_s", time.perf_counter() - started)
        assert status == 200, status
        connection.close()

    def thumbnail(self) -> None:
        connection = self.peer.connect()
        jpeg = {"Accept": "image/jpeg"}
        started = time.perf_counter()
        status, body = self.peer.get(connection, self.instance + "/thumbnail", jpeg)
        if status != 200:  # Orthanc 1.10's plugin: no thumbnail resource
            started = time.perf_counter()
            status, body = self.peer.get(
                connection, self.instance + "/rendered?viewport=128,128", jpeg
            )
        self.keep_best("thumbnail_s", time.perf_counter() - started)
        assert status == 200, status
        self.results["thumbnail_bytes"] = len(body)
        connection.close()


def measure(
    suites: list[Suite], warm: list[Path], ct: list[Path], meta: list[Path], repeat: int
) -> None:
    """Every measurement, the peers alternating so a load spike hits both alike.

    A small study is stored and read first on each server (not timed), so no
    server's first-request start-up (imports, caches) counts in a figure.
    """
    for suite in suites:
        assert suite.peer.stow(warm) == 200, f"{suite.peer.name}: warm-up STOW failed"
        warm_study = _uids(warm[0])[0]
        connection = suite.peer.connect()
        accept = {"Accept": 'multipart/related; type="application/dicom"'}
        assert suite.peer.get(connection, f"/studies/{warm_study}", accept)[0] == 200
        assert suite.peer.get(connection, f"/studies/{warm_study}/metadata", JSON)[0] == 200
        connection.close()
    for suite in suites:
        suite.stow(ct, meta)
    for step, rounds in (
        (Suite.wado, repeat),
        (Suite.metadata, repeat),
        (Suite.first_frame, max(repeat, 5)),
        (Suite.thumbnail, max(repeat, 5)),
    ):
        for _ in range(rounds):
            for suite in suites:
                step(suite)
    for suite in suites:
        suite.results["metadata_instances"] = len(json.loads(suite.metadata_body))


def _uids(path: Path) -> tuple[str, str]:
    import pydicom

    ds = pydicom.dcmread(
        path, stop_before_pixels=True, specific_tags=["StudyInstanceUID", "SeriesInstanceUID"]
    )
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-dicomweb-"))
    try:
        ct = write_ct_series(work / "ct", args.slices, seed=1)
        ct_files = sorted((work / "ct").glob("*.dcm"))
        ct_study = _uids(ct_files[0])[0]
        write_ct_series(work / "meta", args.metadata_instances, rows=64, columns=64, seed=2)
        meta_files = sorted((work / "meta").glob("*.dcm"))
        write_ct_series(work / "warm", 3, seed=3)
        warm_files = sorted((work / "warm").glob("*.dcm"))
        del ct
        size = sum(p.stat().st_size for p in ct_files)
        os.sync()  # the studies just written are on disk before anything is timed
        store = work / "mint-data"
        store.mkdir()
        port = free_port()
        root = f"http://127.0.0.1:{port}/dicom-web"
        options = ["--port", str(port), "--dicomweb-url", root]
        meta_study, meta_series = _uids(meta_files[0])
        with (
            ServerProcess(store.as_uri(), options=options, log_path=work / "mint.log") as server,
            OrthancProcess({"StorageCompression": False}, log_path=work / "orthanc.log") as orthanc,
        ):

            def mint_worker() -> int:  # gunicorn's one worker, where requests run
                master = server.process.pid
                return int(Path(f"/proc/{master}/task/{master}/children").read_text().split()[0])

            orthanc_root = orthanc.url + "/dicom-web"
            suites = [
                Suite(
                    Peer("mintstore", root, mint_worker),
                    ct_study,
                    meta_study,
                    meta_series,
                    args.client == "stream",
                ),
                Suite(
                    Peer("orthanc", orthanc_root, lambda: orthanc.process.pid),
                    ct_study,
                    meta_study,
                    meta_series,
                    args.client == "stream",
                ),
            ]
            measure(suites, warm_files, ct_files, meta_files, args.repeat)
        mint, other = suites[0].results, suites[1].results
        _report(args, size, mint, other)
        # The first round is each server's first read of the study (mintstore:
        # SHA-256 of every item and the Part-10 templates built); the rest warm.
        for suite in suites:
            rounds = ", ".join(f"{seconds * 1000:.0f}" for seconds in suite.wado_rounds)
            cpu = ", ".join(f"{seconds:.2f}" for seconds in suite.wado_cpu)
            client = ", ".join(f"{seconds:.2f}" for seconds in suite.wado_client_cpu)
            print(
                f"WADO-RS rounds, {suite.peer.name}: {rounds} ms; "
                f"server CPU {cpu} s; client CPU {client} s"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _report(
    args: argparse.Namespace, size: int, mint: dict[str, float], other: dict[str, float]
) -> None:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"DICOMweb: mintstore (file store) vs Orthanc 1.10 + DICOMweb plugin; load {load}")
    print(f"WADO-RS client: {args.client}")
    print(
        f"CT series: {args.slices} slices of 512x512, {size / 1e6:.1f} MB; "
        f"metadata series: {args.metadata_instances} instances"
    )
    print(f"{'':34}{'mintstore':>12}{'orthanc':>12}{'ratio':>10}")
    rows = [
        ("STOW-RS of the CT series", "stow_s", ">= 2x"),
        ("WADO-RS of the whole study", "wado_s", ">= 2x"),
        ("series metadata, first request", "metadata_first_s", ">= 10x"),
        ("series metadata, best (cached)", "metadata_s", ">= 10x"),
        ("QIDO + first frame", "first_frame_s", "<= 50 ms"),
        ("thumbnail", "thumbnail_s", "report"),
    ]
    for label, key, goal in rows:
        ratio = other[key] / mint[key]
        mine, theirs = mint[key] * 1000, other[key] * 1000
        print(f"{label:34}{mine:>10.1f}ms{theirs:>10.1f}ms{ratio:>9.2f}x  goal {goal}")
    print(
        f"STOW rate: mintstore {size / mint['stow_s'] / 1e6:.1f} MB/s, "
        f"orthanc {size / other['stow_s'] / 1e6:.1f} MB/s"
    )
    print(
        f"WADO bytes: mintstore {mint['wado_bytes']:.0f}, orthanc {other['wado_bytes']:.0f}; "
        f"metadata instances {mint['metadata_instances']:.0f} / {other['metadata_instances']:.0f}"
    )
    print(
        f"thumbnail bytes: mintstore {mint['thumbnail_bytes']:.0f}, "
        f"orthanc {other['thumbnail_bytes']:.0f} (orthanc: /rendered?viewport=128,128)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--metadata-instances", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--client",
        choices=("stream", "accumulate"),
        default="stream",
        help="WADO-RS body read into one reused buffer (stream), or gathered whole "
        "with http.client's read() (accumulate: the client's copies cost as much "
        "CPU as either server)",
    )
    args = parser.parse_args(argv)
    if shutil.which("Orthanc") is None:
        print("Orthanc is not installed: run scripts/setup/60-dicom-peers.sh", file=sys.stderr)
        return 2
    if not in_private_network():
        done = run_in_private_network(
            [sys.executable, __file__, *(argv or sys.argv[1:])], timeout=3600, cwd=REPO
        )
        sys.stdout.write(done.stdout.decode())
        sys.stderr.write(done.stderr.decode()[-5000:])
        return done.returncode
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
