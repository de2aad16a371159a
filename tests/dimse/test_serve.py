"""``mintstore serve --dicom-port``: the gateway beside the HTTP API, one process, one
store: an instance stored over DIMSE is read back over HTTP."""

from __future__ import annotations

import io
from pathlib import Path

from pydicom import dcmread

from mintstore.client import MintClient
from mintstore.convert.compare import dataset_differences
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess, free_port

from .conftest import dcmtk, without_meta


def test_serve_with_dicom_port(tmp_path: Path) -> None:
    port = free_port()
    store = tmp_path / "store"
    series = write_ct_series(tmp_path / "ct", 2, rows=16, columns=16)
    options = ["--dicom-port", str(port), "--ae-title", "MINTHTTP"]
    with ServerProcess(store.as_uri(), options=options) as server:
        dcmtk("echoscu", "-aec", "MINTHTTP", "127.0.0.1", port)
        dcmtk("storescu", "-aec", "MINTHTTP", "127.0.0.1", port, *series.paths)
        found = dcmtk("findscu", "-S", "-aec", "MINTHTTP", "-k", "QueryRetrieveLevel=STUDY",
                      "-k", f"StudyInstanceUID={series.study_instance_uid}",
                      "127.0.0.1", port)  # fmt: skip
        assert series.study_instance_uid in found.stdout
        client = MintClient(server.url)
        out = io.BytesIO()
        try:
            client.instance(
                series.study_instance_uid,
                series.series_instance_uid,
                series.sop_instance_uids[0],
                out,
            )
        finally:
            client.close()
    out.seek(0)
    original = dcmread(series.paths[0])
    assert dataset_differences(without_meta(original), without_meta(dcmread(out))) == []
