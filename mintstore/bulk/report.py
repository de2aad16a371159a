"""The final report of a bulk import: one row per study and per refused file."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .tasks import Scanned, StudyOutcome

COLUMNS = [
    "kind",
    "study_uid",
    "files",
    "added",
    "skipped",
    "bytes_sent",
    "version",
    "path",
    "reason",
]


@dataclass
class ImportSummary:
    studies: int = 0
    files: int = 0
    added: int = 0
    skipped: int = 0
    bytes_sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    rows: list[dict[str, object]] = field(default_factory=list)
    #: wall-clock seconds per phase: list, start (the cluster), scan, import, stop
    seconds: dict[str, float] = field(default_factory=dict)

    def add_refused(self, path: str, reason: str, study_uid: str | None = None) -> None:
        self.refused[reason.split(":", 1)[0]] += 1
        self.rows.append(
            {"kind": "refused", "study_uid": study_uid, "path": path, "reason": reason}
        )

    def add_scan(self, scanned: Iterable[Scanned]) -> None:
        for item in scanned:
            if item.refused is not None:
                self.files += 1
                self.add_refused(item.ref.name, item.refused)

    def add_study(self, outcome: StudyOutcome) -> None:
        self.studies += 1
        self.files += outcome.files
        self.added += outcome.added
        self.skipped += outcome.skipped
        self.bytes_sent += outcome.bytes_sent
        self.rows.append(
            {
                "kind": "study",
                "study_uid": outcome.study_uid,
                "files": outcome.files,
                "added": outcome.added,
                "skipped": outcome.skipped,
                "bytes_sent": outcome.bytes_sent,
                "version": outcome.version,
            }
        )
        for path, reason in outcome.refused:
            self.add_refused(path, reason, outcome.study_uid)

    def text(self) -> str:
        refused = ", ".join(f"{kind} {count}" for kind, count in self.refused.most_common())
        return (
            f"{self.studies} studies, {self.files} files: {self.added} instances added "
            f"({self.bytes_sent / 1e6:.1f} MB), {self.skipped} already stored, "
            f"{sum(self.refused.values())} refused" + (f" ({refused})" if refused else "")
        )

    def timings(self) -> str:
        return ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in self.seconds.items())

    def write(self, path: Path) -> None:
        """CSV, or Parquet when the name ends in .parquet."""
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            columns = {name: [row.get(name) for row in self.rows] for name in COLUMNS}
            pq.write_table(pa.table(columns), path)
            return
        with path.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=COLUMNS)
            writer.writeheader()
            for row in self.rows:
                writer.writerow(row)
