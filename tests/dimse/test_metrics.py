"""The gateway's Prometheus counters (``--metrics-port``) move with real dcmtk traffic."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from mintstore.synthetic import write_ct_series
from mintstore.testing.dimse_server import DimseProcess
from mintstore.testing.mint_server import free_port

from .conftest import dcmtk


def _samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("mintstore_dimse_") and s.name.endswith("_total")
    }


def test_counters_move_after_storescu(tmp_path: Path) -> None:
    metrics_port = free_port()
    series = write_ct_series(tmp_path / "ct", 2, rows=8, columns=8)
    options = ["--metrics-port", str(metrics_port), "--batch-max-delay", "0.05"]
    with DimseProcess((tmp_path / "store").as_uri(), options=options) as gateway:
        assert _samples(metrics_port) == {}  # nothing counted before any traffic
        dcmtk("storescu", "-aec", gateway.ae_title, "127.0.0.1", gateway.port, *series.paths)
        dcmtk("echoscu", "-aec", "NOT-ME", "127.0.0.1", gateway.port, check=False)
        time.sleep(0.2)  # let the gateway commit before the C-FIND reads
        dcmtk("findscu", "-S", "-aec", gateway.ae_title, "-k", "QueryRetrieveLevel=STUDY",
              "-k", f"StudyInstanceUID={series.study_instance_uid}",
              "127.0.0.1", gateway.port)  # fmt: skip
        seen = _samples(metrics_port)
    accepted = ("mintstore_dimse_associations_total", (("result", "accepted"),))
    rejected = ("mintstore_dimse_associations_total", (("result", "rejected"),))
    stores = (
        "mintstore_dimse_operations_total",
        (("operation", "C-STORE"), ("status", "0x0000")),
    )
    finds = ("mintstore_dimse_operations_total", (("operation", "C-FIND"), ("status", "0x0000")))
    assert seen[accepted] == 2 and seen[rejected] == 1
    assert seen[stores] == 2 and seen[finds] == 1, seen
