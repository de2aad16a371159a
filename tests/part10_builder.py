"""The smallest Part-10 data set several tests build: a secondary capture with fresh UIDs.

Each test sets the attributes its case is about on top; one builder keeps the file
meta and UID boilerplate in one place.
"""

from __future__ import annotations

import io

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

SECONDARY_CAPTURE = UID("1.2.840.10008.5.1.4.1.1.7")


def secondary_capture(study_uid: str | None = None) -> Dataset:
    """A data set with file meta, SOP class and instance, study and series UIDs."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    return ds


def part10_bytes(ds: Dataset) -> bytes:
    """``ds`` as a Part-10 file."""
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
