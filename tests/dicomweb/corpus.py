"""The DICOM files the DICOMweb tests send: a few representative files per syntax.

Each file gets fresh UIDs (several corpus files share their SOP Instance
UIDs across syntaxes) and known patient/study values, so searches have
predictable answers. Study ``multi`` holds two series: three CT slices that
differ only per instance (so MINT normalizes them) and an MR slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import data_store
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
PYDICOM_DATA = Path(data_store.__file__).parent / "data"

#: name -> (source file, description); one study each unless grouped below.
SOURCES = {
    "ct1": PYDICOM_FILES / "CT_small.dcm",
    "ct2": PYDICOM_FILES / "CT_small.dcm",
    "ct3": PYDICOM_FILES / "CT_small.dcm",
    "mr": PYDICOM_FILES / "MR_small.dcm",
    "jpeg": PYDICOM_FILES / "SC_rgb_jpeg_dcmtk.dcm",
    "jpegls": PYDICOM_FILES / "MR_small_jpeg_ls_lossless.dcm",
    "j2k": PYDICOM_FILES / "MR_small_jp2klossless.dcm",
    "rle": PYDICOM_FILES / "SC_rgb_rle_2frame.dcm",
    "multiframe": PYDICOM_DATA / "emri_small.dcm",
    "rgb": PYDICOM_DATA / "SC_rgb.dcm",
    "mono1": PYDICOM_FILES / "MR_small.dcm",
    "bigendian": PYDICOM_FILES / "MR_small_bigendian.dcm",
}
MULTI = ("ct1", "ct2", "ct3", "mr")


@dataclass
class Prepared:
    name: str
    path: Path
    dataset: Dataset

    @property
    def study(self) -> str:
        return str(self.dataset.StudyInstanceUID)

    @property
    def series(self) -> str:
        return str(self.dataset.SeriesInstanceUID)

    @property
    def sop(self) -> str:
        return str(self.dataset.SOPInstanceUID)


def prepare(directory: Path) -> dict[str, Prepared]:
    """Write the corpus with fresh UIDs into ``directory``."""
    multi_study, ct_series, mr_series = generate_uid(), generate_uid(), generate_uid()
    prepared: dict[str, Prepared] = {}
    for index, (name, source) in enumerate(SOURCES.items()):
        ds = pydicom.dcmread(source)
        sop = generate_uid()
        ds.SOPInstanceUID = sop
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        if name in MULTI:
            ds.StudyInstanceUID = multi_study
            ds.SeriesInstanceUID = ct_series if name.startswith("ct") else mr_series
            ds.PatientName = "Multi^Study"
            ds.PatientID = "PID-MULTI"
            ds.StudyDate = "20200102"
            ds.StudyTime = "101500"
            ds.AccessionNumber = "ACC-MULTI"
            ds.StudyID = "M1"
            ds.ReferringPhysicianName = "Watson^John"
            if name.startswith("ct"):
                ds.InstanceNumber = int(name[2:])
        else:
            ds.StudyInstanceUID = generate_uid()
            ds.SeriesInstanceUID = generate_uid()
            ds.PatientName = f"Test^{name.capitalize()}"
            ds.PatientID = f"PID-{name.upper()}"
            ds.StudyDate = f"2021{index:02d}15"
            ds.AccessionNumber = f"ACC-{index}"
        if name == "mono1":
            ds.PhotometricInterpretation = "MONOCHROME1"
        path = directory / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        prepared[name] = Prepared(name, path, pydicom.dcmread(path))
    return prepared


def same_elements(expected: Dataset, actual: Dataset, where: str = "") -> list[str]:
    """Differences element by element (tags, VRs, values; sequences recursively)."""
    problems: list[str] = []
    expected_tags = set(expected.keys())
    actual_tags = set(actual.keys())
    for tag in sorted(expected_tags ^ actual_tags):
        side = "missing" if tag in expected_tags else "extra"
        problems.append(f"{where}{tag}: {side}")
    for tag in sorted(expected_tags & actual_tags):
        a, b = expected[tag], actual[tag]
        if a.VR == "SQ":
            if len(a.value) != len(b.value):
                problems.append(f"{where}{tag}: {len(a.value)} items vs {len(b.value)}")
                continue
            for number, (ia, ib) in enumerate(zip(a.value, b.value, strict=True)):
                problems += same_elements(ia, ib, f"{where}{tag}[{number}].")
        elif a.value != b.value or a.VR != b.VR:
            problems.append(f"{where}{tag}: {a.VR} {a.value!r:.60} vs {b.VR} {b.value!r:.60}")
    return problems
