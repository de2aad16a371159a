"""A STOW-RS request holds a bounded number of its parts, whatever its size.

Each part is released as soon as it is stored (its items are with the
uploader), and parts live in the request's spool: memory while its
allowance lasts, then one file. Before, every part of a request stayed open
until the commit, so a 300-slice STOW held its 150 MB in memory.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import pytest

from mintstore.multipart import spool
from mintstore.multipart.spool import SpoolLimits
from mintstore.synthetic import write_ct_series
from mintstore.web.app import create_app
from mintstore.web.config import ServerConfig
from mintstore.web.dicomweb import stow
from mintstore.web.dicomweb.reads import StoreReads

from .test_part10_template import ACTOR


def _multipart(datas: list[bytes], boundary: str) -> bytes:
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + data + b"\r\n"
        for data in datas
    )
    return body + b"--" + boundary.encode() + b"--\r\n"


def test_a_stow_releases_each_part_once_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_ct_series(tmp_path / "ct", 12, seed=11).paths
    datas = [path.read_bytes() for path in paths]
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    app = create_app(ServerConfig(store_url=store_dir.as_uri()))
    reads = StoreReads(app.extensions["mintstore.store"])

    open_bodies: list[object] = []
    most_open = [0]
    made = spool.RequestSpool.new_body

    def counted(self: spool.RequestSpool) -> object:
        body = made(self)
        open_bodies.append(body)
        most_open[0] = max(most_open[0], sum(not b.closed for b in open_bodies))  # type: ignore[attr-defined]
        return body

    monkeypatch.setattr(spool.RequestSpool, "new_body", counted)
    boundary = "memory-" + secrets.token_hex(4)
    # 1.5 MB of memory for the request: parts past it go to the spool file.
    limits = SpoolLimits(memory_per_request=1536 * 1024, memory_per_part=1024 * 1024)
    result = stow.store_body(
        reads,
        f'multipart/related; type="application/dicom"; boundary={boundary}',
        io.BytesIO(_multipart(datas, boundary)),
        ACTOR,
        study_uid=None,
        spool_limits=limits,
    )
    assert [o.failure for o in result.outcomes] == [None] * 12
    assert len(open_bodies) == 12
    assert most_open[0] == 1, "a part stays open only while it is stored"
    assert all(body.closed for body in open_bodies)  # type: ignore[attr-defined]
    snapshot = reads.snapshot(result.outcomes[0].study or "")
    assert sum(len(s.instances) for s in snapshot.study.series.values()) == 12
