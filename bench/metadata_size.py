"""Metadata size: MINT gzipped GPB vs. per-instance DICOM JSON (DICOMweb).

Usage: python bench/metadata_size.py [--slices N] [--rows R]

Writes a synthetic CT series (mintstore.synthetic; 300 slices of 512x512 by
default), converts it with the StudyBuilder and compares, per instance:

* MINT metadata as mintstore stores it: one normalized document for the
  series, gzipped GPB (also shown: the other variants);
* what a DICOMweb server returns for ``GET .../series/{uid}/metadata``: a JSON
  array holding each instance's *full* attribute set (DICOM JSON model, made
  by pydicom's ``to_json_dict`` from the original files, PixelData as an
  Orthanc-style BulkDataURI), uncompressed and gzipped as one response, and
  gzipped instance by instance (``.../instances/{uid}/metadata`` requests).

Prints the table and the ratios to MINT gpb.gz (goal >= 20x). gzip over the
whole series array removes most of the repetition by itself (its window
spans several instances), so that ratio is far smaller: what is left on both
sides is mostly the per-instance UIDs, which no encoding can shrink.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from pathlib import Path

from pydicom import dcmread
from pydicom.dataelem import DataElement

from mintstore import formats
from mintstore.convert import StudyBuilder
from mintstore.model import Study
from mintstore.synthetic import write_ct_series

GOAL = 20.0


def _mint_study(paths: list[Path]) -> Study:
    builder = StudyBuilder()
    for path in paths:
        builder.add_part10(path)  # binary items are returned and dropped
    return builder.study


def _dicomweb_instances(paths: list[Path]) -> list[bytes]:
    """Each instance's DICOM JSON, as ``.../instances/{uid}/metadata`` answers it."""
    instances = []
    for path in paths:
        ds = dcmread(path)
        base = (
            "http://127.0.0.1:8042/dicom-web/studies/"
            f"{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
        )

        def bulk(element: DataElement, base: str = base) -> str:
            return f"{base}/bulk/{int(element.tag):08X}"

        document = ds.to_json_dict(bulk_data_element_handler=bulk)
        instances.append(json.dumps(document, separators=(",", ":")).encode())
    return instances


def _gzip(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--rows", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        write_ct_series(directory, args.slices, rows=args.rows, columns=args.rows, seed=7)
        paths = sorted(Path(directory).glob("*.dcm"))
        study = _mint_study(paths)
        per_instance = _dicomweb_instances(paths)
    # The series metadata answer is the JSON array of all instances' objects.
    dicomweb = b"[" + b",".join(per_instance) + b"]"
    count = study.instance_count
    rows: list[tuple[str, int]] = [
        (f"MINT {variant}", len(formats.encode(study, fmt, gzip=gz)))
        for fmt in formats.FORMATS
        for gz, variant in ((False, fmt), (True, f"{fmt}.gz"))
    ]
    rows += [
        ("DICOMweb JSON", len(dicomweb)),
        ("DICOMweb JSON.gz", _gzip(dicomweb)),
        ("  per-instance .gz", sum(_gzip(document) for document in per_instance)),
    ]
    print(f"{count} instances, {args.rows}x{args.rows}; metadata bytes per instance:")
    for name, size in rows:
        print(f"  {name:<20} {size / count:10.1f}   (total {size:,})")
    sizes = dict(rows)
    gpb = sizes["MINT gpb.gz"]
    for label, key in [
        ("series JSON, uncompressed", "DICOMweb JSON"),
        ("series JSON, gzipped", "DICOMweb JSON.gz"),
        ("per-instance JSON, gzipped", "  per-instance .gz"),
    ]:
        print(f"DICOMweb {label:<27} / MINT gpb.gz: {sizes[key] / gpb:6.1f}x")
    print(f"(goal: >= {GOAL:.0f}x)")


if __name__ == "__main__":
    main()
