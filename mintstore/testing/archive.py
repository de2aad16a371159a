"""A synthetic "existing archive" for bulk-import tests and benchmarks.

Small CT studies (``mintstore.synthetic``) whose files are scattered over a
random folder tree, one study's files in many folders, mixed with non-DICOM
files and with truncated copies of real instances (a Part-10 header that
reads, pixel data cut short).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mintstore.synthetic import write_ct_series


@dataclass
class Archive:
    root: Path
    studies: dict[str, list[str]] = field(default_factory=dict)  # study UID -> SOP UIDs
    dicom_files: int = 0
    junk_files: int = 0
    truncated_files: int = 0
    bytes: int = 0


def make_archive(
    root: Path,
    studies: int,
    instances: int,
    *,
    junk: int = 0,
    truncated: int = 0,
    seed: int = 0,
    size: int = 8,
) -> Archive:
    """Write the archive under ``root``; ``size`` is the rows and columns of each slice."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    folders = [root / f"d{a:02d}" / f"e{b:02d}" for a in range(8) for b in range(8)]
    archive = Archive(root)
    candidates: list[Path] = []
    with tempfile.TemporaryDirectory(dir=root.parent) as scratch:
        for number in range(studies):
            series = write_ct_series(
                Path(scratch) / str(number), instances, rows=size, columns=size, seed=number
            )
            archive.studies[series.study_instance_uid] = list(series.sop_instance_uids)
            for index, path in enumerate(series.paths):
                target = rng.choice(folders) / f"s{number:05d}-{index:03d}-{rng.randrange(10**6)}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
                archive.dicom_files += 1
                archive.bytes += target.stat().st_size
                candidates.append(target)
    for index in range(junk):
        target = rng.choice(folders) / f"notes-{index:05d}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(rng.randbytes(rng.randrange(10, 3000)))
        archive.junk_files += 1
    for index in range(truncated):
        source = rng.choice(candidates).read_bytes()
        target = rng.choice(folders) / f"cut-{index:05d}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source[: len(source) - 40])
        archive.truncated_files += 1
    return archive
