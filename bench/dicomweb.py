"""DICOMweb of mintstore against Orthanc 1.10 + its DICOMweb plugin, in one run.

Usage: python bench/dicomweb.py [--slices 300] [--metadata-instances 1000] [--repeat 3]

The same raw-HTTP client code (http.client, same bytes) runs against both
servers, each on a fresh store:

* STOW-RS of a synthetic CT series (``--slices`` 512x512 slices, one request);
* WADO-RS of that whole study (multipart/related application/dicom);
* series metadata (WADO-RS) of a ``--metadata-instances`` series (64x64 slices);
* first frame of a series after QIDO: QIDO series + QIDO instances (limit 1)
  + frames/1, on one fresh connection;
* a thumbnail (Orthanc 1.10 has no /thumbnail: its /rendered?viewport=128,128).

Best of ``--repeat`` for each read. Orthanc binds 0.0.0.0, so the benchmark
re-runs itself inside a private network namespace (mintstore.testing.orthanc).
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


class Peer:
    """A DICOMweb root spoken to over raw HTTP."""

    def __init__(self, name: str, root: str) -> None:
        parts = urlsplit(root)
        self.name = name
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


def _best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def suite(
    peer: Peer, ct: list[Path], ct_study: str, meta: list[Path], repeat: int
) -> dict[str, float]:
    results: dict[str, float] = {}
    started = time.perf_counter()
    status = peer.stow(ct)
    results["stow_s"] = time.perf_counter() - started
    assert status == 200, f"{peer.name} STOW answered {status}"
    assert peer.stow(meta) == 200, f"{peer.name} STOW of the metadata series failed"
    meta_study, meta_series = _uids(meta[0])

    def wado() -> None:
        connection = peer.connect()
        status, body = peer.get(
            connection,
            f"/studies/{ct_study}",
            {"Accept": 'multipart/related; type="application/dicom"'},
        )
        assert status == 200, status
        results["wado_bytes"] = len(body)
        connection.close()

    results["wado_s"] = _best(wado, repeat)

    bodies: list[bytes] = []

    def metadata() -> None:
        # The response only: parsing 3 MB of JSON is the client's time, not the server's.
        connection = peer.connect()
        status, body = peer.get(
            connection, f"/studies/{meta_study}/series/{meta_series}/metadata", JSON
        )
        assert status == 200, status
        bodies[:] = [body]
        connection.close()

    results["metadata_s"] = _best(metadata, repeat)
    results["metadata_instances"] = len(json.loads(bodies[0]))

    sop_holder: list[str] = []

    def first_frame() -> None:
        connection = peer.connect()
        status, body = peer.get(connection, f"/studies/{ct_study}/series", JSON)
        assert status == 200, status
        series = json.loads(body)[0]["0020000E"]["Value"][0]
        status, body = peer.get(
            connection, f"/studies/{ct_study}/series/{series}/instances?limit=1", JSON
        )
        assert status == 200, status
        sop = json.loads(body)[0]["00080018"]["Value"][0]
        sop_holder[:] = [series, sop]
        status, body = peer.get(
            connection,
            f"/studies/{ct_study}/series/{series}/instances/{sop}/frames/1",
            {"Accept": 'multipart/related; type="application/octet-stream"'},
        )
        assert status == 200, status
        results["frame_bytes"] = len(body)
        connection.close()

    results["first_frame_s"] = _best(first_frame, max(repeat, 5))
    series, sop = sop_holder
    instance = f"/studies/{ct_study}/series/{series}/instances/{sop}"

    def thumbnail() -> None:
        connection = peer.connect()
        status, body = peer.get(connection, instance + "/thumbnail", {"Accept": "image/jpeg"})
        if status != 200:  # Orthanc 1.10's plugin: no thumbnail resource
            status, body = peer.get(
                connection, instance + "/rendered?viewport=128,128", {"Accept": "image/jpeg"}
            )
        assert status == 200, status
        results["thumbnail_bytes"] = len(body)
        connection.close()

    results["thumbnail_s"] = _best(thumbnail, max(repeat, 5))
    return results


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
        del ct
        size = sum(p.stat().st_size for p in ct_files)
        store = work / "mint-data"
        store.mkdir()
        port = free_port()
        root = f"http://127.0.0.1:{port}/dicom-web"
        options = ["--port", str(port), "--dicomweb-url", root]
        with ServerProcess(store.as_uri(), options=options, log_path=work / "mint.log"):
            mint = suite(Peer("mintstore", root), ct_files, ct_study, meta_files, args.repeat)
        with OrthancProcess(
            {"StorageCompression": False}, log_path=work / "orthanc.log"
        ) as orthanc:
            other = suite(
                Peer("orthanc", orthanc.url + "/dicom-web"),
                ct_files,
                ct_study,
                meta_files,
                args.repeat,
            )
        _report(args, size, mint, other)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _report(
    args: argparse.Namespace, size: int, mint: dict[str, float], other: dict[str, float]
) -> None:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"DICOMweb: mintstore (file store) vs Orthanc 1.10 + DICOMweb plugin; load {load}")
    print(
        f"CT series: {args.slices} slices of 512x512, {size / 1e6:.1f} MB; "
        f"metadata series: {args.metadata_instances} instances"
    )
    print(f"{'':34}{'mintstore':>12}{'orthanc':>12}{'ratio':>10}")
    rows = [
        ("STOW-RS of the CT series", "stow_s", ">= 2x"),
        ("WADO-RS of the whole study", "wado_s", ">= 2x"),
        ("series metadata (DICOM JSON)", "metadata_s", ">= 10x"),
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
