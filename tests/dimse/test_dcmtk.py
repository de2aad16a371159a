"""The gateway against dcmtk's tools over real sockets: echo, store, find, move, get.

Every instance sent is read back from the store and compared element by
element with the file that was sent (the file meta group aside: the
receiver writes its own).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import data_store
import pydicom
import pytest
from pydicom import dcmread

from mintstore.convert.compare import dataset_differences
from mintstore.store import StudyStore
from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.testing.dimse_server import DimseProcess, StoreSCP

from .conftest import dcmtk, stored_dataset, wait_committed, without_meta

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
PYDICOM_DATA = Path(data_store.__file__).parent / "data"

#: One file per transfer syntax (and a few shapes: nested sequences, multi-frame).
CORPUS = [
    PYDICOM_FILES / "CT_small.dcm",  # explicit VR little endian
    PYDICOM_FILES / "MR_small_implicit.dcm",  # implicit VR little endian
    PYDICOM_FILES / "MR_small_bigendian.dcm",  # explicit VR big endian
    PYDICOM_FILES / "image_dfl.dcm",  # deflated explicit VR little endian
    PYDICOM_FILES / "SC_rgb_dcmtk_+eb+cr.dcm",  # JPEG baseline
    PYDICOM_FILES / "JPGExtended.dcm",  # JPEG extended
    PYDICOM_FILES / "SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless SV1
    PYDICOM_FILES / "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless
    PYDICOM_FILES / "MR_small_jp2klossless.dcm",  # JPEG 2000 lossless
    PYDICOM_FILES / "JPEG2000.dcm",  # JPEG 2000
    PYDICOM_FILES / "MR_small_RLE.dcm",  # RLE lossless
    PYDICOM_FILES / "rtplan.dcm",  # nested sequences
    PYDICOM_FILES / "SC_rgb_rle_2frame.dcm",  # multi-frame RLE
    PYDICOM_DATA / "emri_small_jpeg_ls_lossless.dcm",  # multi-frame JPEG-LS
    PYDICOM_DATA / "JPEG-LL.dcm",  # JPEG lossless
    PYDICOM_DATA / "US1_J2KI.dcm",  # JPEG 2000, colour
]


#: The storescu option that proposes each transfer syntax (storescu does not
#: propose a compressed syntax unless told, and cannot convert to one).
PROPOSE = {
    "1.2.840.10008.1.2": "-xi",
    "1.2.840.10008.1.2.1": "-xe",
    "1.2.840.10008.1.2.2": "-xb",
    "1.2.840.10008.1.2.1.99": "-xd",
    "1.2.840.10008.1.2.4.50": "-xy",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.5": "-xr",
}


def send_as_is(gateway: DimseProcess, paths: list[Path]) -> None:
    """storescu each file in its own transfer syntax (one association per syntax)."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        syntax = str(dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        groups.setdefault(syntax, []).append(path)
    for syntax, group in groups.items():
        dcmtk("storescu", "-R", PROPOSE[syntax], "-aec", gateway.ae_title,
              "127.0.0.1", gateway.port, *group)  # fmt: skip


def _unique_copies(directory: Path) -> list[Path]:
    """Copies of CORPUS in which no two files share a SOP Instance UID.

    Several pydicom files are one MR slice in different transfer syntaxes;
    the copy gets a different UID of the same length, replaced in the bytes,
    so every length in the file stays valid and nothing else changes.
    """
    directory.mkdir()
    seen: set[str] = set()
    copies = []
    for index, source in enumerate(CORPUS):
        data = source.read_bytes()
        uid = str(dcmread(source, stop_before_pixels=True).SOPInstanceUID)
        if uid in seen:
            replacement = uid[:-3] + f"{index:03d}"
            assert len(replacement) == len(uid) and data.count(uid.encode()) >= 1
            data = data.replace(uid.encode(), replacement.encode())
            uid = replacement
        seen.add(uid)
        target = directory / f"{index:02d}_{source.name}"
        target.write_bytes(data)
        copies.append(target)
    return copies


def _assert_stored_equal(store: StudyStore, paths: list[Path]) -> None:
    for path in paths:
        original = dcmread(path)
        rebuilt = stored_dataset(store, original)
        differences = dataset_differences(without_meta(original), without_meta(rebuilt))
        assert differences == [], f"{path.name}: {differences}"
        assert rebuilt.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, gateway: DimseProcess) -> SyntheticSeries:
    """A whole synthetic CT study, sent as a folder with storescu +sd."""
    series = write_ct_series(tmp_path_factory.mktemp("study"), 12, rows=64, columns=64, seed=3)
    dcmtk("storescu", "-aec", gateway.ae_title, "+sd", "127.0.0.1", gateway.port,
          series.paths[0].parent)  # fmt: skip
    return series


def _find(gateway: DimseProcess, tmp: Path, root: str, *keys: str) -> list[pydicom.Dataset]:
    out = tmp / f"find-{time.monotonic_ns()}"
    out.mkdir()
    arguments = [f"-{root}", "-aec", gateway.ae_title, "-X", "-od", str(out)]
    for key in keys:
        arguments += ["-k", key]
    dcmtk("findscu", *arguments, "127.0.0.1", gateway.port)
    return [dcmread(path) for path in sorted(out.glob("rsp*.dcm"))]


def test_echo(gateway: DimseProcess) -> None:
    result = dcmtk("echoscu", "-v", "-aec", gateway.ae_title, "127.0.0.1", gateway.port)
    assert "Received Echo Response (Success)" in result.stdout


def test_storescu_corpus_every_transfer_syntax(
    gateway: DimseProcess, store: StudyStore, tmp_path: Path
) -> None:
    copies = _unique_copies(tmp_path / "corpus")
    syntaxes = {
        str(dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in copies
    }
    assert len(syntaxes) >= 11
    send_as_is(gateway, copies)
    wait_committed(store)
    _assert_stored_equal(store, copies)


def test_storescu_study_folder(study: SyntheticSeries, store: StudyStore) -> None:
    wait_committed(store)
    info = store.metadata(study.study_instance_uid)
    assert set(info.series[study.series_instance_uid].instances) == set(study.sop_instance_uids)
    _assert_stored_equal(store, study.paths)


def test_change_log_names_calling_ae_and_peer(study: SyntheticSeries, store: StudyStore) -> None:
    changes = store.study_changes(study.study_instance_uid)
    assert {(change.user, change.host) for change in changes} == {("STORESCU", "127.0.0.1")}


def test_resend_identical_succeeds_and_changes_nothing(
    gateway: DimseProcess, study: SyntheticSeries, store: StudyStore
) -> None:
    before = store.study_info(study.study_instance_uid).version
    dcmtk("storescu", "-aec", gateway.ae_title, "127.0.0.1", gateway.port, study.paths[0])
    wait_committed(store)
    assert store.study_info(study.study_instance_uid).version == before


def test_find_study_root_every_level(
    gateway: DimseProcess, study: SyntheticSeries, tmp_path: Path
) -> None:
    first = dcmread(study.paths[0])
    studies = _find(
        gateway, tmp_path, "S", "QueryRetrieveLevel=STUDY",
        f"PatientID={first.PatientID}", "StudyDate=20000101-", "PatientName=SYNTH*",
        "StudyInstanceUID", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
        "ModalitiesInStudy", "AccessionNumber", "StudyDescription",
    )  # fmt: skip
    assert len(studies) == 1
    found = studies[0]
    assert found.StudyInstanceUID == study.study_instance_uid
    assert int(found.NumberOfStudyRelatedInstances) == 12
    assert int(found.NumberOfStudyRelatedSeries) == 1
    assert found.ModalitiesInStudy == "CT"
    assert found.AccessionNumber == first.AccessionNumber
    assert found.StudyDescription == first.StudyDescription
    assert found.RetrieveAETitle == gateway.ae_title

    series = _find(
        gateway, tmp_path, "S", "QueryRetrieveLevel=SERIES",
        f"StudyInstanceUID={study.study_instance_uid}", "Modality=CT",
        "SeriesInstanceUID", "NumberOfSeriesRelatedInstances", "SeriesNumber",
    )  # fmt: skip
    assert [s.SeriesInstanceUID for s in series] == [study.series_instance_uid]
    assert int(series[0].NumberOfSeriesRelatedInstances) == 12

    images = _find(
        gateway, tmp_path, "S", "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={study.study_instance_uid}",
        f"SeriesInstanceUID={study.series_instance_uid}",
        "SOPInstanceUID", "InstanceNumber=1\\2\\3", "SOPClassUID",
    )  # fmt: skip
    assert sorted(int(image.InstanceNumber) for image in images) == [1, 2, 3]
    assert all(image.SOPClassUID == first.SOPClassUID for image in images)


def test_find_patient_root_every_level(
    gateway: DimseProcess, study: SyntheticSeries, tmp_path: Path
) -> None:
    first = dcmread(study.paths[0])
    patients = _find(
        gateway, tmp_path, "P", "QueryRetrieveLevel=PATIENT", f"PatientID={first.PatientID}",
        "PatientName", "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedInstances",
    )  # fmt: skip
    assert len(patients) == 1
    assert str(patients[0].PatientName) == str(first.PatientName)
    assert int(patients[0].NumberOfPatientRelatedStudies) == 1
    assert int(patients[0].NumberOfPatientRelatedInstances) == 12
    studies = _find(
        gateway, tmp_path, "P", "QueryRetrieveLevel=STUDY", f"PatientID={first.PatientID}",
        "StudyInstanceUID", f"StudyTime={first.StudyTime[:4]}-",
    )  # fmt: skip
    assert [s.StudyInstanceUID for s in studies] == [study.study_instance_uid]
    series = _find(
        gateway, tmp_path, "P", "QueryRetrieveLevel=SERIES", f"PatientID={first.PatientID}",
        f"StudyInstanceUID={study.study_instance_uid}", "SeriesInstanceUID",
    )  # fmt: skip
    assert len(series) == 1
    images = _find(
        gateway, tmp_path, "P", "QueryRetrieveLevel=IMAGE", f"PatientID={first.PatientID}",
        f"StudyInstanceUID={study.study_instance_uid}",
        f"SeriesInstanceUID={study.series_instance_uid}", "SOPInstanceUID",
        f"SOPInstanceUID={study.sop_instance_uids[4]}",
    )  # fmt: skip
    assert [image.SOPInstanceUID for image in images] == [study.sop_instance_uids[4]]


def test_find_no_match_and_sequence_matching(
    gateway: DimseProcess, study: SyntheticSeries, tmp_path: Path
) -> None:
    none = _find(
        gateway, tmp_path, "S", "QueryRetrieveLevel=STUDY", "PatientName=NOBODY*",
        "StudyInstanceUID",
    )  # fmt: skip
    assert none == []
    first = dcmread(study.paths[0])
    code = first.ProcedureCodeSequence[0].CodeValue
    hits = _find(
        gateway, tmp_path, "S", "QueryRetrieveLevel=STUDY",
        f"StudyInstanceUID={study.study_instance_uid}",
        f"ProcedureCodeSequence[0].CodeValue={code}", "ProcedureCodeSequence[0].CodeMeaning",
    )  # fmt: skip
    assert len(hits) == 1
    assert (
        hits[0].ProcedureCodeSequence[0].CodeMeaning == first.ProcedureCodeSequence[0].CodeMeaning
    )
    misses = _find(
        gateway, tmp_path, "S", "QueryRetrieveLevel=STUDY",
        f"StudyInstanceUID={study.study_instance_uid}",
        "ProcedureCodeSequence[0].CodeValue=OTHER",
    )  # fmt: skip
    assert misses == []


def test_movescu_study_to_storescp(
    gateway: DimseProcess, study: SyntheticSeries, storescp: StoreSCP, store: StudyStore
) -> None:
    for path in storescp.files():
        path.unlink()
    dcmtk(
        "movescu", "-S", "-aec", gateway.ae_title, "-aem", storescp.ae_title,
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study.study_instance_uid}",
        "127.0.0.1", gateway.port,
    )  # fmt: skip
    received = storescp.files()
    assert len(received) == 12
    by_sop = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in received}
    for path in study.paths:
        original = dcmread(path)
        moved = dcmread(by_sop[str(original.SOPInstanceUID)])
        assert dataset_differences(without_meta(original), without_meta(moved)) == []


def test_getscu_series(gateway: DimseProcess, study: SyntheticSeries, tmp_path: Path) -> None:
    out = tmp_path / "get"
    out.mkdir()
    dcmtk(
        "getscu", "-S", "-aec", gateway.ae_title, "-od", out,
        "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={study.study_instance_uid}",
        "-k", f"SeriesInstanceUID={study.series_instance_uid}", "127.0.0.1", gateway.port,
    )  # fmt: skip
    received = sorted(out.iterdir())
    assert len(received) == 12
    originals = {str(dcmread(p).SOPInstanceUID): dcmread(p) for p in study.paths}
    for path in received:
        got = dcmread(path)
        assert (
            dataset_differences(without_meta(originals[str(got.SOPInstanceUID)]), without_meta(got))
            == []
        )


def test_moved_compressed_instance_keeps_its_transfer_syntax(
    gateway: DimseProcess, storescp: StoreSCP, tmp_path: Path
) -> None:
    source = tmp_path / "j2k.dcm"
    shutil.copy(PYDICOM_DATA / "US1_J2KI.dcm", source)
    original = dcmread(source)
    send_as_is(gateway, [source])
    for path in storescp.files():
        path.unlink()
    dcmtk(
        "movescu", "-S", "-aec", gateway.ae_title, "-aem", storescp.ae_title,
        "-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={original.StudyInstanceUID}",
        "-k", f"SeriesInstanceUID={original.SeriesInstanceUID}",
        "-k", f"SOPInstanceUID={original.SOPInstanceUID}", "127.0.0.1", gateway.port,
    )  # fmt: skip
    [moved_path] = storescp.files()
    moved = dcmread(moved_path)
    assert moved.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert dataset_differences(without_meta(original), without_meta(moved)) == []
    assert os.path.getsize(moved_path) < 2 * os.path.getsize(source)
