"""SIGKILL the gateway at random moments while storescu sends a 300-instance study,
20 times: every instance that got a success status is in the store afterwards,
readable and equal to what was sent, and ``mintstore verify`` is clean.

Each round sends a new study to the same store, so later rounds also start
on a spool left behind by a killed predecessor (recovery under fire).
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
from pathlib import Path

from pydicom import dcmread

from mintstore.adapters.registry import open_store
from mintstore.convert.compare import dataset_differences
from mintstore.store import StoreConfig, StudyStore
from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.testing.dcmtk import dcmtk_tool
from mintstore.testing.dimse_server import DimseProcess

from .conftest import wait_committed, without_meta

ROUNDS = 20
SLICES = 300


def acknowledged(storescu_output: str) -> list[Path]:
    """Files storescu got a success status for (it logs the file, then the response)."""
    done, current = [], None
    for line in storescu_output.splitlines():
        if line.startswith("I: Sending file: "):
            current = Path(line.removeprefix("I: Sending file: ").strip())
        elif "Received Store Response (Success)" in line and current is not None:
            done.append(current)
            current = None
    return done


def fresh_copy(base: SyntheticSeries, directory: Path, number: int) -> SyntheticSeries:
    """The base study under new UIDs (same lengths, replaced in the bytes: fast)."""

    def renamed(uid: str) -> str:
        return uid[:-6] + f"{number + 100000:06d}"

    uids = {
        base.study_instance_uid: renamed(base.study_instance_uid),
        base.series_instance_uid: renamed(base.series_instance_uid),
        **{sop: renamed(sop) for sop in base.sop_instance_uids},
    }
    directory.mkdir()
    paths = []
    for path, sop in zip(base.paths, base.sop_instance_uids, strict=True):
        data = path.read_bytes()
        for old in (base.study_instance_uid, base.series_instance_uid, sop):
            data = data.replace(old.encode(), uids[old].encode())
        (directory / path.name).write_bytes(data)
        paths.append(directory / path.name)
    return SyntheticSeries(
        uids[base.study_instance_uid],
        uids[base.series_instance_uid],
        [uids[sop] for sop in base.sop_instance_uids],
        paths,
    )


def test_sigkill_while_storing_loses_nothing_acknowledged(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    url = store_dir.as_uri()
    rng = random.Random(11)
    promised: list[tuple[SyntheticSeries, Path]] = []
    killed_mid_send = 0
    base = write_ct_series(tmp_path / "base", SLICES, rows=8, columns=8)
    for round_number in range(ROUNDS):
        series = fresh_copy(base, tmp_path / f"s{round_number}", round_number)
        gateway = DimseProcess(url, options=["--batch-max-delay", "0.05"])
        sender = subprocess.Popen(
            [dcmtk_tool("storescu"), "-v", "-aec", gateway.ae_title, "+sd",
             "127.0.0.1", str(gateway.port),
             str(series.paths[0].parent)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        time.sleep(rng.uniform(0.2, 1.5))
        gateway.kill()
        output, _ = sender.communicate(timeout=60)
        done = acknowledged(output)
        killed_mid_send += len(done) < SLICES
        by_name = {path.name: path for path in series.paths}
        promised += [(series, by_name[path.name]) for path in done]
    assert killed_mid_send >= ROUNDS // 2, "the kills should mostly land mid-transfer"

    # a last start recovers what the last kill left in the spool, then stops cleanly
    with DimseProcess(url) as last:
        store = StudyStore(open_store(url, {}), StoreConfig())
        wait_committed(store)
        assert last.alive()
    for series, path in promised:
        original = dcmread(path)
        out = io.BytesIO()
        store.instance_part10(
            series.study_instance_uid, series.series_instance_uid, str(original.SOPInstanceUID), out
        )
        out.seek(0)
        assert dataset_differences(without_meta(original), without_meta(dcmread(out))) == []
    verify = subprocess.run(
        [sys.executable, "-m", "mintstore.cli", "verify", "--store", url],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert " 0 problems" in verify.stdout
    assert len(promised) > 0
