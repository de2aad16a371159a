"""Small in-memory instances for conversion tests (no files needed)."""

from __future__ import annotations

import io
from collections.abc import Callable

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

from mintstore.convert import StudyBuilder, instance_to_dataset
from mintstore.convert.compare import dataset_differences

STUDY = "1.2.826.0.1.3680043.2.1125.1"
SERIES_A = "1.2.826.0.1.3680043.2.1125.2"
SERIES_B = "1.2.826.0.1.3680043.2.1125.3"


def instance(sop: str, series: str = SERIES_A, **values: object) -> Dataset:
    """A small CT instance as read from a file (raw elements), with overrides.

    A value of ``None`` removes that attribute.
    """
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = STUDY
    ds.SeriesInstanceUID = series
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "P1"
    ds.PatientBirthDate = "19700101"
    ds.Modality = "CT"
    ds.SeriesNumber = "1"
    ds.Manufacturer = "ACME"
    ds.SliceThickness = "1.0"
    ds.InstanceNumber = sop.rsplit(".", 1)[-1]
    ds.Rows = 2
    ds.Columns = 2
    ds.BitsAllocated = 16
    ds.SamplesPerPixel = 1
    ds.PixelData = sop.encode()[-8:].ljust(8, b"\0")
    for keyword, value in values.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop)
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    out.seek(0)
    return dcmread(out)


def build(datasets: list[Dataset]) -> tuple[StudyBuilder, dict[int, bytes]]:
    """Add every dataset to a new builder; returns it and all items by bid."""
    builder = StudyBuilder()
    items: dict[int, bytes] = {}
    for ds in datasets:
        items.update((bid, bytes(c)) for bid, c in builder.add_dataset(ds))
    return builder, items


def assert_rebuilds(
    builder: StudyBuilder, items: dict[int, bytes], originals: list[Dataset]
) -> None:
    """Every original comes back element for element."""
    read: Callable[[int], bytes] = items.__getitem__
    for original in originals:
        rebuilt = instance_to_dataset(
            builder.study, original.SeriesInstanceUID, original.SOPInstanceUID, read
        )
        assert dataset_differences(original, rebuilt) == []
