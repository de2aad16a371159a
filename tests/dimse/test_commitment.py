"""Storage Commitment Push Model with pynetdicom as the SCU: the result comes back on
the same association while it is open, and on a new one to the requester after it
was released; instances the store lacks are listed as failed."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]

from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.testing.dimse_server import DimseProcess

from .conftest import dcmtk

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory, gateway: DimseProcess) -> SyntheticSeries:
    series = write_ct_series(tmp_path_factory.mktemp("commit"), 4, rows=32, columns=32)
    dcmtk("storescu", "-aet", "COMMITSCU", "-aec", gateway.ae_title, "+sd",
          "127.0.0.1", gateway.port, series.paths[0].parent)  # fmt: skip
    return series


def _request(series: SyntheticSeries, missing: str) -> tuple[str, Dataset]:
    transaction = generate_uid()
    request = Dataset()
    request.TransactionUID = transaction
    items = []
    for sop_uid in [*series.sop_instance_uids, missing]:
        item = Dataset()
        item.ReferencedSOPClassUID = CT_IMAGE
        item.ReferencedSOPInstanceUID = sop_uid
        items.append(item)
    request.ReferencedSOPSequence = items
    return transaction, request


class Reports:
    """N-EVENT-REPORTs received by a handler, with a way to wait for one."""

    def __init__(self) -> None:
        self.received: list[tuple[int, Dataset]] = []
        self.arrived = threading.Event()

    def handle(self, event: Any) -> int:
        self.received.append((int(event.event_type), event.event_information))
        self.arrived.set()
        return 0x0000

    def wait(self, timeout: float = 15.0) -> bool:
        """True once a report arrived; then a moment more, so that pynetdicom
        has sent the handler's N-EVENT-REPORT response before the caller
        releases (a release overtaking it leaves the peer waiting for it)."""
        if not self.arrived.wait(timeout):
            return False
        time.sleep(0.3)
        return True


def _check(report: tuple[int, Dataset], series: SyntheticSeries, transaction: str) -> None:
    event_type, info = report
    assert event_type == 2  # some failed: the made-up instance
    assert info.TransactionUID == transaction
    committed = {item.ReferencedSOPInstanceUID for item in info.ReferencedSOPSequence}
    assert committed == set(series.sop_instance_uids)
    [failed] = info.FailedSOPSequence
    assert failed.FailureReason == 0x0112
    assert failed.ReferencedSOPInstanceUID not in committed


def test_result_on_the_same_association(gateway: DimseProcess, sent: SyntheticSeries) -> None:
    reports = Reports()
    ae = AE(ae_title="COMMITSCU")
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate(
        "127.0.0.1",
        gateway.port,
        ae_title=gateway.ae_title,
        evt_handlers=[(evt.EVT_N_EVENT_REPORT, reports.handle)],
    )
    assert assoc.is_established
    try:
        transaction, request = _request(sent, generate_uid())
        status, _ = assoc.send_n_action(
            request, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1"
        )
        assert status.Status == 0x0000
        assert reports.wait(), "no N-EVENT-REPORT on the open association"
    finally:
        assoc.release()
    _check(reports.received[0], sent, transaction)


def test_result_on_a_new_association_after_release(
    gateway: DimseProcess, sent: SyntheticSeries, commit_port: int
) -> None:
    reports = Reports()
    listener = AE(ae_title="COMMITSCU")
    listener.add_supported_context(StorageCommitmentPushModel, scu_role=False, scp_role=True)
    server = listener.start_server(
        ("127.0.0.1", commit_port),
        block=False,
        evt_handlers=[(evt.EVT_N_EVENT_REPORT, reports.handle)],
    )
    assert server is not None
    try:
        ae = AE(ae_title="COMMITSCU")
        ae.add_requested_context(StorageCommitmentPushModel)
        assoc = ae.associate("127.0.0.1", gateway.port, ae_title=gateway.ae_title)
        assert assoc.is_established
        transaction, request = _request(sent, generate_uid())
        status, _ = assoc.send_n_action(
            request, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1"
        )
        assoc.release()  # at once: the gateway must call back
        assert status.Status == 0x0000
        assert reports.wait(), "no N-EVENT-REPORT on a new association"
    finally:
        server.shutdown()
    _check(reports.received[0], sent, transaction)


def test_instance_from_before_a_restart_is_found(
    store_dir: Path, sent: SyntheticSeries, tmp_path: Path
) -> None:
    """A fresh gateway process (which received nothing) still finds the instances."""
    reports = Reports()
    with DimseProcess(store_dir.as_uri()) as fresh:
        ae = AE(ae_title="COMMITSCU")
        ae.add_requested_context(StorageCommitmentPushModel)
        assoc = ae.associate(
            "127.0.0.1",
            fresh.port,
            ae_title=fresh.ae_title,
            evt_handlers=[(evt.EVT_N_EVENT_REPORT, reports.handle)],
        )
        transaction, request = _request(sent, generate_uid())
        assoc.send_n_action(request, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1")
        assert reports.wait()
        assoc.release()
    _check(reports.received[0], sent, transaction)
    assert dcmread(sent.paths[0]).SOPClassUID == CT_IMAGE
