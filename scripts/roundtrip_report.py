"""Round-trip every DICOM file of a corpus and print a table with totals.

Usage: python scripts/roundtrip_report.py [FILE_OR_DIR ...]
(default: every file of pydicom's bundled data folders)

Per file: DICOM -> MINT (StudyBuilder) -> DICOM (instance_to_dataset,
write_part10); element-by-element comparison with the original (in memory and
after re-reading the written file) and byte comparison. Statuses: identical,
equal (elements equal, bytes differ), uids-injected (the file lacks
Study/Series/SOP UIDs; stand-ins were added), different, rejected
(InvalidDicom), ERROR (any other exception: a bug).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from mintstore.convert.roundtrip import pydicom_corpus, roundtrip_file
from mintstore.errors import InvalidDicom


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
                result = roundtrip_file(path, inject_uids=True)
                status: str = result.status
                detail = "; ".join(result.differences[:3])
                if status == "equal":
                    detail = f"bytes differ from offset {result.first_byte_difference}"
            except InvalidDicom as exc:
                status, detail = "rejected", str(exc)
            except Exception as exc:  # report, do not stop the table
                status, detail = "ERROR", f"{type(exc).__name__}: {exc}"
        counts[status] = counts.get(status, 0) + 1
        print(f"{status:14} {path.name:45} {detail[:120]}")
    print("totals:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
