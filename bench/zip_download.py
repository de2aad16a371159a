"""ZIP download of a many-instance study against its multipart download (issue 14).

Usage: python bench/zip_download.py [--instances 2000]

Stores one synthetic CT study of small instances (8x8 pixels) in a file store,
starts ``mintstore serve`` on it, and times, in the same run, ``GET
/studies/{uid}`` as multipart/related (metadata + binary items: the
reference) and as application/zip (one rebuilt Part-10 per instance). Each
download runs three times; the best time counts. Prints both, the ratio (goal
<= 2x) and the load average. The ZIP is checked: every member is the
instance's source file, byte for byte.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from mintstore.adapters.registry import open_store
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess

GOAL = 2.0


def _get(url: str, path: str, accept: str) -> tuple[float, bytes]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    started = time.perf_counter()
    try:
        connection.request("GET", parts.path + path, headers={"Accept": accept})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body[:300])
    finally:
        connection.close()
    return time.perf_counter() - started, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        series = write_ct_series(work / "src", args.instances, rows=8, columns=8, seed=1)
        store_dir = work / "store"
        store_dir.mkdir()
        store = StudyStore(open_store(store_dir.as_uri()), StoreConfig())
        with store.begin_ingest() as session:
            for path in series.paths:
                with open(path, "rb") as stream:
                    session.add_part10(stream)
            session.commit(Actor("bench", "localhost"))
        store.close()
        sources = {Path(p).stem: Path(p).read_bytes() for p in series.paths}
        study = series.study_instance_uid
        print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        with ServerProcess(store_dir.as_uri()) as server:
            route = f"/studies/{study}"
            multipart = min(
                _get(server.url, route, "multipart/related")[0] for _ in range(args.runs)
            )
            zips = [_get(server.url, route, "application/zip") for _ in range(args.runs)]
            best = min(seconds for seconds, _ in zips)
            with zipfile.ZipFile(io.BytesIO(zips[0][1])) as archive:
                members = {Path(n).stem: archive.read(n) for n in archive.namelist()}
        by_sop = {}
        for data in sources.values():
            from pydicom import dcmread

            by_sop[str(dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)] = data
        exact = sum(members.get(sop) == data for sop, data in by_sop.items())
        print(f"instances: {args.instances}, ZIP members byte-identical: {exact}/{len(by_sop)}")
        print(f"multipart/related: {multipart:.3f} s (best of {args.runs})")
        print(f"application/zip:   {best:.3f} s (best of {args.runs})")
        ratio = best / multipart
        print(f"ratio zip / multipart: {ratio:.1f}x (goal <= {GOAL:g}x): "
              + ("met" if ratio <= GOAL else "NOT met"))  # fmt: skip
        print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
