"""STOW-RS follows the engine's one duplicate policy (``[store] duplicates``).

``reject``: other content under a stored SOP Instance UID fails that instance
(0111H) with the engine's reason; ``replace``: the engine itself commits it as
a new version, the old one kept, with no DICOMweb option involved.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pydicom
import pytest

from mintstore.store import StoreConfig
from mintstore.synthetic import write_ct_series
from mintstore.web import ServerConfig, create_app
from mintstore.web.dicomweb.multipart import single_body

MULTIPART = 'multipart/related; type="application/dicom"; boundary=B'
_names = itertools.count()


def _changed(path: Path) -> bytes:
    dataset = pydicom.dcmread(path)
    dataset.SeriesDescription = "CHANGED UNDER THE SAME UID"
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize("policy", ["reject", "replace"])
def test_stow_follows_the_engine_policy(tmp_path: Path, policy: str) -> None:
    config = ServerConfig(
        store_url=f"memory://stow-dups-{next(_names)}", engine=StoreConfig(duplicates=policy)
    )
    app = create_app(config)
    client = app.test_client()
    series = write_ct_series(tmp_path, 2, rows=16, columns=16)
    first = single_body("B", [("application/dicom", p.read_bytes()) for p in series.paths])
    assert client.post("/dicom-web/studies", data=first, content_type=MULTIPART).status_code == 200
    again = single_body("B", [("application/dicom", series.paths[0].read_bytes())])
    assert client.post("/dicom-web/studies", data=again, content_type=MULTIPART).status_code == 200
    changed = single_body("B", [("application/dicom", _changed(series.paths[0]))])
    answer = client.post("/dicom-web/studies", data=changed, content_type=MULTIPART)
    store = app.extensions["mintstore.store"]
    uid, sop = series.study_instance_uid, series.sop_instance_uids[0]
    if policy == "reject":
        assert answer.status_code == 409, answer.data
        failed = pydicom.Dataset.from_json(answer.get_json()).FailedSOPSequence
        assert failed[0].FailureReason == 0x0111
        assert store.study_info(uid).version == 0
        assert b"different content" in answer.data
        return
    assert answer.status_code == 200, answer.data
    assert store.study_info(uid).version == 1
    descriptions = []
    for version in (0, 1):
        out = io.BytesIO()
        store.open_version(uid, version).instance_part10(series.series_instance_uid, sop, out)
        descriptions.append(pydicom.dcmread(io.BytesIO(out.getvalue())).get("SeriesDescription"))
    assert descriptions[1] == "CHANGED UNDER THE SAME UID"
    assert descriptions[0] != descriptions[1]  # the old content is kept in history
