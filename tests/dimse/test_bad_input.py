"""Bad input over DIMSE: the right status or rejection, the server still up, the
store unchanged (every object key and size the same before and after)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    Verification,
)

from mintstore.synthetic import write_ct_series
from mintstore.testing.dimse_server import DimseProcess

from .conftest import dcmtk, wait_committed

Snapshot = dict[str, int]


def snapshot(store_dir: Path) -> Snapshot:
    """Every object of the file store with its size (the spool included; the
    file store's own ``~tmp/`` of writes in flight aside)."""
    found = {}
    for path in store_dir.rglob("*"):
        name = str(path.relative_to(store_dir))
        if name.startswith("~tmp"):
            continue
        try:
            if path.is_file():
                found[name] = path.stat().st_size
        except FileNotFoundError:
            continue
    return found


@pytest.fixture(scope="module")
def seeded(gateway: DimseProcess, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One stored study, so that there is something to leave unchanged."""
    series = write_ct_series(tmp_path_factory.mktemp("seed"), 3, rows=16, columns=16)
    dcmtk("storescu", "-aec", gateway.ae_title, "+sd", "127.0.0.1", gateway.port,
          series.paths[0].parent)  # fmt: skip
    return series.paths


@pytest.fixture
def unchanged(seeded: list[Path], store_dir: Path, gateway: DimseProcess) -> Iterator[None]:
    from mintstore.adapters.registry import open_store
    from mintstore.store import StudyStore

    wait_committed(StudyStore(open_store(store_dir.as_uri(), {})))
    before = snapshot(store_dir)
    yield
    assert gateway.alive()
    dcmtk("echoscu", "-aec", gateway.ae_title, "127.0.0.1", gateway.port)
    assert snapshot(store_dir) == before


def _associate(gateway: DimseProcess, *contexts: str, calling: str = "TESTSCU") -> Association:
    ae = AE(ae_title=calling)
    for context in contexts:
        ae.add_requested_context(context)
    return ae.associate("127.0.0.1", gateway.port, ae_title=gateway.ae_title)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00" * 64,  # not a PDU type at all
        b"\x01\x00" + struct.pack(">I", 0xFFFFFFF0) + b"\x00\x01",  # absurd A-ASSOCIATE-RQ length
        b"\x01\x00" + struct.pack(">I", 20) + b"\x00\x01" + b"\xff" * 18,  # truncated RQ body
        b"\x04\x00" + struct.pack(">I", 6) + b"\x00\x00\x00\x02\x01\x00",  # P-DATA first
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # the wrong protocol
    ],
    ids=["garbage", "huge-length", "truncated", "pdata-first", "http"],
)
def test_malformed_pdus(gateway: DimseProcess, unchanged: None, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as raw:
        raw.sendall(payload)
        raw.shutdown(socket.SHUT_WR)
        try:
            answer = raw.recv(100)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    # either closed silently or an A-ABORT / A-ASSOCIATE-RJ: never an acceptance
    assert answer[:1] in (b"", b"\x03", b"\x07")


def test_unknown_sop_class_is_not_accepted(gateway: DimseProcess, unchanged: None) -> None:
    assoc = _associate(gateway, "1.2.3.4.5.6.7.8.9", Verification)
    assert assoc.is_established
    accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
    assert accepted == {Verification}
    assoc.release()


def test_unknown_sop_class_file_is_refused_by_storescu(
    gateway: DimseProcess, unchanged: None, seeded: list[Path], tmp_path: Path
) -> None:
    private = dcmread(seeded[0])
    private.SOPClassUID = "1.2.3.4.5.6.7.8.9"
    private.file_meta.MediaStorageSOPClassUID = UID("1.2.3.4.5.6.7.8.9")
    private.SOPInstanceUID = "1.2.3.99"
    private.file_meta.MediaStorageSOPInstanceUID = UID("1.2.3.99")
    path = tmp_path / "private.dcm"
    private.save_as(path)
    result = dcmtk("storescu", "-aec", gateway.ae_title, "127.0.0.1", gateway.port, path,
                   check=False)  # fmt: skip
    assert result.returncode != 0
    assert "no presentation context" in result.stdout.lower()


def test_unparsable_dataset_fails_with_cannot_understand(
    gateway: DimseProcess, unchanged: None, seeded: list[Path], tmp_path: Path
) -> None:
    good = seeded[0].read_bytes()
    meta_end = 132 + 12 + struct.unpack("<I", good[140:144])[0]
    # the file meta of a real CT, then a dataset that claims a 1 GB element
    broken = (
        good[:meta_end]
        + b"\x08\x00\x16\x00UI"
        + struct.pack("<H", 26)
        + b"1.2.840.10008.5.1.4.1.1.2\x00"
    )
    broken += b"\x10\x00\x10\x00UT\x00\x00" + struct.pack("<I", 1 << 30) + b"short"
    path = tmp_path / "broken.dcm"
    path.write_bytes(broken)
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", gateway.port, ae_title=gateway.ae_title)
    _config.STORE_SEND_CHUNKED_DATASET = True  # send the bytes as they are, undecoded
    try:
        answer = assoc.send_c_store(path)
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = False
        assoc.release()
    assert answer.Status == 0xC000
    assert "ErrorComment" in answer


def test_dataset_without_uids_fails(gateway: DimseProcess, unchanged: None) -> None:
    dataset = Dataset()
    dataset.SOPClassUID = CTImageStorage
    dataset.SOPInstanceUID = "1.2.3.4.5"
    dataset.PatientName = "NO^STUDY"
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    assoc = _associate(gateway, CTImageStorage)
    try:
        answer = assoc.send_c_store(dataset)
    finally:
        assoc.release()
    assert answer.Status == 0xC000


def test_duplicate_sop_with_different_content_fails(
    gateway: DimseProcess, unchanged: None, seeded: list[Path], tmp_path: Path
) -> None:
    changed = dcmread(seeded[1])
    changed.PatientComments = "a different instance under the same SOP Instance UID"
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", gateway.port, ae_title=gateway.ae_title)
    try:
        answer = assoc.send_c_store(changed)
    finally:
        assoc.release()
    assert answer.Status == 0x0111
    assert "different content" in answer.ErrorComment


def _find_status(gateway: DimseProcess, identifier: Dataset) -> int:
    assoc = _associate(gateway, StudyRootQueryRetrieveInformationModelFind)
    try:
        responses = list(assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind))
    finally:
        assoc.release()
    final = responses[-1][0]
    return int(final.Status)


@pytest.mark.parametrize(
    "keys",
    [
        {},  # no QueryRetrieveLevel
        {"QueryRetrieveLevel": "PATIENT"},  # not a level of the Study Root model
        {"QueryRetrieveLevel": "SERIES", "SeriesInstanceUID": ""},  # no study named
        {"QueryRetrieveLevel": "STUDY", "StudyDate": "yesterday"},
        {"QueryRetrieveLevel": "STUDY", "StudyTime": "25-xx"},
    ],
    ids=["no-level", "patient-in-study-root", "series-without-study", "bad-date", "bad-time"],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR")  # pydicom, about our bad keys
def test_find_with_invalid_keys(
    gateway: DimseProcess, unchanged: None, keys: dict[str, str]
) -> None:
    identifier = Dataset()
    identifier.PatientName = ""
    for keyword, value in keys.items():
        setattr(identifier, keyword, value)
    assert _find_status(gateway, identifier) == 0xA900


def test_move_to_unknown_destination(
    gateway: DimseProcess, unchanged: None, seeded: list[Path]
) -> None:
    study_uid = dcmread(seeded[0], stop_before_pixels=True).StudyInstanceUID
    result = dcmtk(
        "movescu", "-v", "-S", "-aec", gateway.ae_title, "-aem", "NOWHERE",
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
        "127.0.0.1", gateway.port, check=False,
    )  # fmt: skip
    assert "Final Move Response (Refused: MoveDestinationUnknown)" in result.stdout


def test_wrong_called_ae_title_is_rejected(gateway: DimseProcess, unchanged: None) -> None:
    result = dcmtk("echoscu", "-aec", "SOMEONEELSE", "127.0.0.1", gateway.port, check=False)
    assert result.returncode != 0
    assert "rejected" in result.stdout.lower()


def test_disallowed_calling_ae_is_rejected(store_dir: Path, tmp_path: Path) -> None:
    before = snapshot(store_dir)
    with DimseProcess(store_dir.as_uri(), options=["--allow-calling-ae", "TRUSTED"]) as only:
        refused = dcmtk("echoscu", "-aet", "INTRUDER", "-aec", only.ae_title,
                        "127.0.0.1", only.port, check=False)  # fmt: skip
        assert refused.returncode != 0
        assert "rejected" in refused.stdout.lower()
        path = write_ct_series(tmp_path, 1, rows=8, columns=8).paths[0]
        stored = dcmtk("storescu", "-aet", "INTRUDER", "-aec", only.ae_title,
                       "127.0.0.1", only.port, path, check=False)  # fmt: skip
        assert stored.returncode != 0
        dcmtk("echoscu", "-aet", "TRUSTED", "-aec", only.ae_title, "127.0.0.1", only.port)
    assert snapshot(store_dir) == before
