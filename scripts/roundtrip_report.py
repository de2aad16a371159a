"""Round-trip every readable DICOM file in a corpus and print a table.

Usage: python scripts/roundtrip_report.py [FILE_OR_DIR ...]
(default: pydicom's bundled test files and charset files)

For each file: DICOM -> MINT (StudyBuilder) -> DICOM (instance_to_dataset,
write_part10), then: element-by-element equality with the original
(re-reading the written file), and whether the written bytes are identical.
"""

from __future__ import annotations

import io
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom

from mintstore.convert import StudyBuilder, instance_to_dataset, read_part10, write_part10
from mintstore.convert.compare import dataset_differences
from mintstore.errors import InvalidDicom


def pydicom_corpus() -> list[Path]:
    """Every file under pydicom's bundled data folders (listed, never downloaded)."""
    root = Path(pydicom.__file__).parent / "data"
    folders = [root / "test_files", root / "charset_files", root / "palettes"]
    return sorted(
        p
        for folder in folders
        for p in folder.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc", ".txt", ".json", ".md", ".dump", ".gz", ".icc"}
    )


def roundtrip(path: Path) -> tuple[str, str]:
    """(status, detail): status is 'identical', 'equal', 'DIFFERENT' or 'unreadable'."""
    original_bytes = path.read_bytes()
    try:
        original = read_part10(original_bytes)
    except InvalidDicom as exc:
        return "unreadable", str(exc)
    builder = StudyBuilder()
    items = {bid: bytes(content) for bid, content in builder.add_part10(original_bytes)}
    study = builder.study
    (series,) = study.series.values()
    (instance,) = series.instances.values()
    ds = instance_to_dataset(study, series.series_instance_uid, instance.sop_instance_uid, items.__getitem__)
    out = io.BytesIO()
    write_part10(ds, out)
    written = out.getvalue()
    differences = dataset_differences(original, ds)
    differences += [f"file: {d}" for d in dataset_differences(original, read_part10(written))]
    if differences:
        return "DIFFERENT", "; ".join(differences[:3])
    if written == original_bytes:
        return "identical", ""
    return "equal", _first_difference(original_bytes, written)


def _first_difference(a: bytes, b: bytes) -> str:
    index = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"bytes differ from offset {index} (sizes {len(a)} / {len(b)})"


def _paths(args: list[str]) -> Iterator[Path]:
    if not args:
        yield from pydicom_corpus()
    for arg in args:
        path = Path(arg)
        yield from (sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])


def main(argv: list[str]) -> int:
    counts: dict[str, int] = {}
    for path in _paths(argv[1:]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                status, detail = roundtrip(path)
            except Exception as exc:  # report, do not stop the table
                status, detail = "ERROR", f"{type(exc).__name__}: {exc}"
        counts[status] = counts.get(status, 0) + 1
        print(f"{status:10} {path.name:50} {detail[:150]}")
    print("totals:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
