"""Commit cost against history: appending one instance to a study at version N.

Two histories are built on a memory store (the engine's own cost, no I/O):

* ``grown``: N instances appended one commit at a time (version N holds N
  instances, as in issue 13's "2.7 s at version 500");
* ``updated``: one instance, then N small attribute updates (version N, one
  instance): this isolates the history from the study's size.

For each, the median of 5 appends of one more instance at the given
versions is printed beside the reference measured in the same run: the
same instance ingested as a new study. Usage: python bench/append.py [--versions 1,100,250,500]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pydicom

from mintstore.adapters.registry import open_store
from mintstore.model import Attribute, Study
from mintstore.store import Actor, StudyStore
from mintstore.synthetic import write_ct_series

ACTOR = Actor("bench")


class Slices:
    """Distinct CT slices (positions, pixels differ) re-labelled into any study."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = paths
        self._next = 0

    def instance(self, study_uid: str) -> bytes:
        dataset = pydicom.dcmread(self._paths[self._next % len(self._paths)])
        self._next += 1
        dataset.StudyInstanceUID = study_uid
        dataset.SOPInstanceUID = f"2.25.{uuid.uuid4().int}"
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        out = io.BytesIO()
        dataset.save_as(out)
        return out.getvalue()


def _append(store: StudyStore, data: bytes) -> float:
    started = time.perf_counter()
    with store.begin_ingest() as session:
        session.add_part10(io.BytesIO(data))
        session.commit(ACTOR)
    return time.perf_counter() - started


def _timed_appends(store: StudyStore, slices: Slices, uid: str, count: int = 5) -> float:
    return statistics.median(_append(store, slices.instance(uid)) for _ in range(count))


def parse_versions(description: str) -> list[int]:
    """The ``--versions`` to measure at, sorted; prints the load average first
    (every figure of these benches comes with it)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--versions", default="1,100,250,500")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return sorted(int(v) for v in args.versions.split(","))


def main() -> None:
    versions = parse_versions(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        series = write_ct_series(tmp, versions[-1] + 20, rows=16, columns=16, seed=4)
        slices = Slices(series.paths)
        store = StudyStore(open_store(f"memory://append-{uuid.uuid4().hex}"))
        fresh = statistics.median(
            _append(store, slices.instance(f"2.25.{uuid.uuid4().int}")) for _ in range(5)
        )
        print(f"reference: one instance as a new study {fresh * 1000:.1f} ms\n")
        print("| history | version | append one instance | / reference |")
        print("|---|---|---|---|")
        for kind in ("grown", "updated"):
            uid = f"2.25.{uuid.uuid4().int}"
            _append(store, slices.instance(uid))
            version = 0
            for target in versions:
                while version < target:
                    if kind == "grown":
                        _append(store, slices.instance(uid))
                    else:
                        delta = Study(uid)
                        delta.attributes[0x00081030] = Attribute(0x00081030, "LO", f"v{version}")
                        store.update(uid, delta, {}, old_version=None, actor=ACTOR)
                    version += 1
                cost = _timed_appends(store, slices, uid)
                version += 5
                print(
                    f"| {kind} | {target} | {cost * 1000:.1f} ms | {cost / fresh:.1f}x |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
