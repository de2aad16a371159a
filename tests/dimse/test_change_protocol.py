"""MINT-SPEC 10: each change-log entry names the protocol that made it.

One ``serve --dicom-port`` process; a study arrives over each protocol (MINT
HTTP by mintstore's client, DICOMweb STOW-RS by dicomweb-client, DIMSE by
dcmtk's storescu), and both change logs, XML and JSON, say which.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from lxml import etree

from mintstore.client import MintClient
from mintstore.store.records import CommitRecord
from mintstore.synthetic import write_ct_series
from mintstore.testing.mint_server import ServerProcess, free_port

from .conftest import dcmtk


def test_each_change_names_its_protocol(tmp_path: Path) -> None:
    port = free_port()
    by_protocol = {
        name: write_ct_series(tmp_path / name, 1, rows=8, columns=8)
        for name in ("MINT", "DICOMweb", "DIMSE")
    }
    metrics_port = free_port()  # serve passes its [dimse] flags on to the gateway child
    options = ["--dicom-port", str(port), "--ae-title", "MINTHTTP"]
    options += ["--dimse-metrics-port", str(metrics_port)]
    with ServerProcess((tmp_path / "store").as_uri(), options=options) as server:
        client = MintClient(server.url)
        try:
            client.push_files(by_protocol["MINT"].paths)
        finally:
            client.close()
        web = DICOMwebClient(f"{server.url}/dicom-web")
        web.store_instances([pydicom.dcmread(p) for p in by_protocol["DICOMweb"].paths])
        dcmtk("storescu", "-aec", "MINTHTTP", "127.0.0.1", port, *by_protocol["DIMSE"].paths)
        expected = {s.study_instance_uid: name for name, s in by_protocol.items()}
        seen: dict[str, str] = {}
        for _ in range(100):  # the gateway commits its batch within batch_max_delay
            answer = requests.get(
                f"{server.url}/changelog", headers={"Accept": "application/json"}, timeout=30
            )
            assert answer.status_code == 200
            changes = json.loads(answer.text)["changelog"]["changes"]
            seen = {c["studyUUID"]: c.get("protocol") for c in changes}
            if len(seen) == 3:
                break
            time.sleep(0.1)
        assert seen == expected
        counters = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert (
            'mintstore_dimse_operations_total{operation="C-STORE",status="0x0000"} 1.0' in counters
        )
        for uid, name in expected.items():
            xml = requests.get(f"{server.url}/studies/{uid}/changelog", timeout=30)
            entries = etree.fromstring(xml.content).findall("{*}change")
            assert [e.get("protocol") for e in entries] == [name]


def test_records_written_before_the_protocol_still_read() -> None:
    old = (
        b'{"format": 1, "study_uid": "1.2.3", "version": 0, "previous": null, '
        b'"operation": "CREATE", "time": "2026-01-01T00:00:00+00:00", "user": null, '
        b'"host": "127.0.0.1", "type": "DICOM", "codec": "gpb", "metadata": null, '
        b'"items": null, "payload": null, "next_bid": 0, "index": {"study_uid": "1.2.3", '
        b'"version": 0, "last_modified": "2026-01-01T00:00:00+00:00"}}'
    )
    record = CommitRecord.from_bytes(old)
    assert record.protocol is None
    assert b"protocol" not in record.to_bytes()  # and is written back without one
