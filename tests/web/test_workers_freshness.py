"""Two gunicorn workers on one bucket: strict freshness vs a freshness window.

Both workers are warmed (they answer version 0 from what they know), then
another process commits version 1 straight into the bucket. With strict
freshness every read at once says 1; with a window W reads may still say 0
right away (and some do: the warmed workers have not looked), and every
read says 1 once W has passed.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from urllib.parse import urlsplit

from mintstore.model import Attribute, Study
from mintstore.store import Actor, open_study_store
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess

from .raw_http import raw_header_lines

READS = 24


def _version_seen(url: str, study: str) -> int:
    """The version a fresh connection is told (the ETag of the study root)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request("GET", f"/studies/{study}", headers={"Connection": "close"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        return int(response.headers["ETag"].strip('"'))
    finally:
        connection.close()


def _run(tmp_path: Path, freshness: float) -> tuple[list[int], list[int]]:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    writer = open_study_store(store_dir.as_uri())
    series = write_ct_series(tmp_path / "dicom", 1, rows=16, columns=16, seed=2)
    uid = series.study_instance_uid
    with writer.begin_ingest() as session:
        with series.paths[0].open("rb") as stream:
            session.add_part10(stream)
        session.commit(Actor("setup"))
    options = ["--freshness", str(freshness)]
    with ServerProcess(store_dir.as_uri(), workers=2, options=options) as server:
        assert {_version_seen(server.url, uid) for _ in range(READS)} == {0}
        for path in ("DICOM/metadata.xml", "DICOM/binaryitems/0"):
            assert raw_header_lines(server.url, f"/studies/{uid}/{path}", "date") == 1, path
        delta = Study(uid)
        delta.attributes[0x00100020] = Attribute(0x00100020, "LO", "CHANGED")
        committed = time.monotonic()
        writer.update(uid, delta, {}, old_version=0, actor=Actor("elsewhere"))
        at_once = [_version_seen(server.url, uid) for _ in range(READS)]
        if freshness:
            assert time.monotonic() - committed < freshness, "the machine is too slow to tell"
            time.sleep(max(0.0, freshness - (time.monotonic() - committed)) + 0.3)
        later = [_version_seen(server.url, uid) for _ in range(READS)]
    writer.close()
    return at_once, later


def test_strict_freshness_sees_another_process_write_at_once(tmp_path: Path) -> None:
    at_once, later = _run(tmp_path, 0.0)
    assert set(at_once) == {1} and set(later) == {1}


def test_a_window_sees_it_within_the_window(tmp_path: Path) -> None:
    at_once, later = _run(tmp_path, 4.0)
    assert 0 in at_once  # warmed workers trust what they know within the window
    assert set(later) == {1}
