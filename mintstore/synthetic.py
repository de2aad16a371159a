"""Synthetic CT studies written as Part-10 files, for tests and benchmarks.

Real studies cannot be shipped (patient data), yet the engine and the
benchmarks need hundreds of realistic slices. These look like a helical CT
series: one study, one series, fresh UIDs, the usual CT attributes, and
per-slice position, location, instance number and acquisition time, so that
normalization has shared and varying attributes to sort out. Pixel data is
pseudo-random (incompressible, the worst case for transport) and differs per
slice. Writing is fast (a few ms per 512x512 slice) so tests can afford it.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)


@dataclass(frozen=True)
class SyntheticSeries:
    """What was written: the UIDs and one file per slice (in slice order)."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uids: list[str]
    paths: list[Path]


def _study_level(rng: random.Random, study_uid: str, when: datetime) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = f"SYNTHETIC^PATIENT{rng.randrange(10000):04d}"
    ds.PatientID = f"SYN{rng.randrange(10**8):08d}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = rng.choice("FM")
    ds.PatientAge = "055Y"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = when.strftime("%Y%m%d")
    ds.StudyTime = when.strftime("%H%M%S")
    ds.AccessionNumber = f"ACC{rng.randrange(10**7):07d}"
    ds.ReferringPhysicianName = "REFERRING^DOCTOR"
    ds.StudyDescription = "CT CHEST WITH CONTRAST"
    ds.StudyID = str(rng.randrange(1, 10000))
    code = Dataset()
    code.CodeValue = "CTCHEST"
    code.CodingSchemeDesignator = "99SYN"
    code.CodeMeaning = "CT chest with contrast"
    ds.ProcedureCodeSequence = Sequence([code])
    return ds


def _slice(
    template: Dataset, series_uid: str, frame_uid: str, index: int, when: datetime
) -> Dataset:
    ds = Dataset()
    ds.update(template)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = "2"
    ds.SeriesDate = template.StudyDate
    ds.SeriesTime = template.StudyTime
    ds.SeriesDescription = "AXIAL 1.0 STANDARD"
    ds.Modality = "CT"
    ds.Manufacturer = "MINTSTORE SYNTHETIC"
    ds.ManufacturerModelName = "SYNTH-CT"
    ds.InstitutionName = "SYNTHETIC HOSPITAL"
    ds.BodyPartExamined = "CHEST"
    ds.PatientPosition = "HFS"
    ds.FrameOfReferenceUID = frame_uid
    ds.SliceThickness = "1.0"
    ds.KVP = "120"
    ds.ConvolutionKernel = "STANDARD"
    ds.AcquisitionNumber = "1"
    ds.InstanceNumber = str(index + 1)
    acquired = when + timedelta(milliseconds=250 * index)
    ds.AcquisitionTime = acquired.strftime("%H%M%S.%f")[:10]
    ds.ContentTime = ds.AcquisitionTime
    z = -150.0 + index * 1.0
    ds.ImagePositionPatient = ["-250.000000", "-250.000000", f"{z:.6f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.SliceLocation = f"{z:.6f}"
    ds.PixelSpacing = ["0.976562", "0.976562"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    return ds


def _encoded_elements(ds: Dataset) -> dict[int, bytes]:
    """Each element of ``ds`` encoded alone (explicit VR little endian), by tag."""
    encoded: dict[int, bytes] = {}
    for elem in ds:
        buffer = DicomBytesIO()
        buffer.is_little_endian = True
        buffer.is_implicit_VR = False
        write_data_element(buffer, elem, ["iso8859"])
        encoded[int(elem.tag)] = buffer.getvalue()
    return encoded


def write_ct_series(
    directory: Path | str,
    slices: int,
    *,
    rows: int = 512,
    columns: int = 512,
    seed: int | None = None,
) -> SyntheticSeries:
    """Write ``slices`` CT slices of ``rows`` x ``columns`` into ``directory``.

    UIDs are always fresh (so repeated runs never collide in a store); ``seed``
    only fixes patient details and pixel values. Elements shared by every slice
    are encoded once and reused, which keeps 300 slices near a second.
    """
    rng = random.Random(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    when = datetime(2024, 1, 1, 8, 0, 0) + timedelta(minutes=rng.randrange(500000))
    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    template = _study_level(rng, study_uid, when)
    frame_size = rows * columns * 2
    noise = rng.randbytes(frame_size + 4096)
    first = _slice(template, series_uid, frame_uid, 0, when)
    first.Rows = rows
    first.Columns = columns
    shared = _encoded_elements(first)
    pixel_header = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, frame_size)
    paths: list[Path] = []
    sops: list[str] = []
    for index in range(slices):
        ds = _slice(template, series_uid, frame_uid, index, when)
        varying = _encoded_elements(Dataset({Tag(t): ds[t] for t in _PER_SLICE_TAGS}))
        elements = {**shared, **varying}
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.FileMetaInformationVersion = b"\x00\x01"
        header = DicomBytesIO()
        header.write(b"\x00" * 128 + b"DICM")
        meta.FileMetaInformationGroupLength = 0
        write_file_meta_info(header, meta, enforce_standard=True)
        shift = (index * 37) % 4096
        path = directory / f"CT{index + 1:05d}.dcm"
        with open(path, "wb") as out:
            out.write(header.getvalue())
            out.write(b"".join(elements[tag] for tag in sorted(elements)))
            out.write(pixel_header)
            out.write(noise[shift : shift + frame_size])
        paths.append(path)
        sops.append(str(ds.SOPInstanceUID))
    return SyntheticSeries(study_uid, series_uid, sops, paths)


_PER_SLICE_TAGS = (
    0x00080018,  # SOP Instance UID
    0x00080032,  # Acquisition Time
    0x00080033,  # Content Time
    0x00200013,  # Instance Number
    0x00200032,  # Image Position (Patient)
    0x00201041,  # Slice Location
)
