"""SIGTERM during a 150 MB download: the download completes, the process exits 0, nothing is left.

The server runs with HOME pointed at an empty directory (gunicorn's control
socket would land in ~/.gunicorn) and the metrics directory is looked for in
the temporary directory: both must be gone or never made.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from mintstore.client import MintClient
from mintstore.testing.mint_server import ServerProcess
from tests.part10_builder import secondary_capture

SIZE = 150 * 1024 * 1024


def _big_instance(path: Path) -> tuple[str, str, str]:
    """A Part-10 secondary capture whose pixel data is 150 MiB."""
    rows, columns = 10240, SIZE // 10240
    ds = secondary_capture()
    ds.PatientName, ds.PatientID, ds.Modality = "Big^Download", "BIG1", "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = np.random.default_rng(7).integers(0, 255, rows * columns, np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def _metrics_dirs(temp: Path) -> set[str]:
    return {name for name in os.listdir(temp) if "mintstore-metrics" in name}


def test_sigterm_lets_a_150_mb_download_finish(tmp_path: Path) -> None:
    study, series, sop = _big_instance(tmp_path / "big.dcm")
    home = tmp_path / "home"
    home.mkdir()
    # The servers' own temp folder: other processes on the machine may make
    # metrics folders of their own in the system one.
    temp = tmp_path / "temp"
    temp.mkdir()
    server = ServerProcess(
        (tmp_path / "store").as_uri(),
        environ={"HOME": str(home), "XDG_RUNTIME_DIR": "", "TMPDIR": str(temp)},
        options=["--graceful-timeout", "60"],
        log_path=tmp_path / "server.log",
    )
    try:
        client = MintClient(server.url)
        client.push_files([tmp_path / "big.dcm"])
        client.close()
        parts = urlsplit(server.url)
        assert parts.hostname and parts.port
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        connection.request("GET", f"/studies/{study}/{series}/{sop}")
        response = connection.getresponse()
        assert response.status == 200
        length = int(response.getheader("Content-Length") or 0)
        assert length > SIZE
        digest = hashlib.sha256(response.read(4 * 1024 * 1024))
        received = 4 * 1024 * 1024
        os.kill(server.process.pid, signal.SIGTERM)
        time.sleep(1.0)
        # New connections are refused while the download goes on.
        with pytest.raises(OSError):
            socket.create_connection((parts.hostname, parts.port), timeout=2).close()
        while chunk := response.read(1024 * 1024):
            digest.update(chunk)
            received += len(chunk)
            time.sleep(0.002)  # a slowish reader: the stop must wait for it
        assert received == length
        connection.close()
        assert server.process.wait(timeout=60) == 0
    finally:
        server.stop()
    # The response was the stored instance, byte for byte.
    check = ServerProcess((tmp_path / "store").as_uri(), environ={"TMPDIR": str(temp)})
    try:
        reference = MintClient(check.url)
        with (tmp_path / "again.dcm").open("wb") as out:
            reference.instance(study, series, sop, out)
        reference.close()
    finally:
        check.stop()
    assert hashlib.sha256((tmp_path / "again.dcm").read_bytes()).digest() == digest.digest()
    assert list(home.iterdir()) == [], "gunicorn left a control socket behind"
    assert _metrics_dirs(temp) == set(), "the metrics directory was not removed"
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log
