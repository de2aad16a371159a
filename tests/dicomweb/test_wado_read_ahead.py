"""WADO-RS of large instances whose items were already checked: read one part ahead
on a helper thread (routes._sized_body), the bytes must be those of the rebuild,
and a changed item must still be refused."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest

from mintstore.errors import IntegrityError
from mintstore.store.layout import blob_key
from mintstore.synthetic import write_ct_series
from mintstore.web.app import create_app
from mintstore.web.config import ServerConfig
from mintstore.web.dicomweb import wado
from mintstore.web.dicomweb.reads import StoreReads
from mintstore.web.dicomweb.routes import LARGE_PART
from tests.store.helpers import ingest_paths

from .test_part10_template import ACTOR

ACCEPT = {"Accept": 'multipart/related; type="application/dicom"'}


def _parts(body: bytes, boundary: str) -> list[bytes]:
    return [
        part.split(b"\r\n\r\n", 1)[1][:-2] for part in body.split(b"--" + boundary.encode())[1:-1]
    ]


def test_large_checked_instances_are_the_rebuilt_bytes(tmp_path: Path) -> None:
    paths = write_ct_series(tmp_path / "ct", 4, seed=5).paths  # 512x512: 512 KB per item
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    app = create_app(ServerConfig(store_url=store_dir.as_uri()))
    store = app.extensions["mintstore.store"]
    [result] = ingest_paths(store, paths, ACTOR)
    snapshot = StoreReads(store).snapshot(result.study_uid)
    rebuilt = [
        b"".join(wado.instance_part10(snapshot, series.series_instance_uid, sop, None))
        for series in snapshot.study.sorted_series()
        for sop in (i.sop_instance_uid for i in series.sorted_instances())
    ]
    assert min(len(data) for data in rebuilt) >= LARGE_PART  # the read-ahead path
    client = app.test_client()
    for _ in range(3):  # SHA-256 reads on four threads, then cheap checks one ahead
        response = client.get(f"/dicom-web/studies/{result.study_uid}", headers=ACCEPT)
        assert response.status_code == 200
        assert response.content_length == len(response.data)
        assert _parts(response.data, response.mimetype_params["boundary"]) == rebuilt
    originals = {pydicom.dcmread(path).SOPInstanceUID: pydicom.dcmread(path) for path in paths}
    for data in rebuilt:
        sent = pydicom.dcmread(io.BytesIO(data))
        assert sent.PixelData == originals[sent.SOPInstanceUID].PixelData

    # One stored item changed on disk: the already-checked path must refuse it.
    version = snapshot.handle
    path = store_dir / blob_key(version.item_digest(version.item_ids()[-1]))
    changed = bytearray(path.read_bytes())
    changed[len(changed) // 2] ^= 0x01
    path.write_bytes(bytes(changed))
    with pytest.raises(IntegrityError):  # at the first chunk or later, by its place
        _ = client.get(f"/dicom-web/studies/{result.study_uid}", headers=ACCEPT).data
