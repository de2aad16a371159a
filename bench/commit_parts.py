"""Where the study-size part of a commit goes: one append at version N, taken apart.

A study grows one instance per commit on a memory store (no I/O, as in
``bench/append.py``). At each version the median append of one instance is
the reference of that row; beside it, measured on the same study in the same
run, the pieces that grow with the study: encoding the whole metadata
document (GPB), of it the model checks every encode runs, gzip, SHA-256,
the walk for referenced bids. The rest of the append (parsing the new file,
the builder, the item table, the commit record) is what the pieces leave.

Usage: python -m bench.commit_parts [--versions 1,100,250,500]
"""

from __future__ import annotations

import gzip
import hashlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial

from bench.append import Slices, _append, _timed_appends, parse_versions
from mintstore.adapters.registry import open_store
from mintstore.formats.checks import check_study
from mintstore.formats.gpb import encode_gpb
from mintstore.store import StudyStore
from mintstore.synthetic import write_ct_series


def median_ms(work: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    versions = parse_versions(__doc__.splitlines()[0])
    print(
        "\n| version | append (= 1) | GPB encode | of it: checks | gzip | SHA-256 "
        "| referenced bids | document gz (raw) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        series = write_ct_series(tmp, versions[-1] + 40, rows=16, columns=16, seed=4)
        slices = Slices(series.paths)
        store = StudyStore(open_store(f"memory://parts-{uuid.uuid4().hex}"))
        uid = f"2.25.{uuid.uuid4().int}"
        version = -1
        for target in versions:
            while version < target:
                _append(store, slices.instance(uid))
                version += 1
            append = _timed_appends(store, slices, uid)
            version += 5
            study = store.metadata(uid)
            raw = encode_gpb(study)
            document = gzip.compress(raw)
            pieces = {
                "encode": median_ms(partial(encode_gpb, study)),
                "checks": median_ms(partial(check_study, study)),
                "gzip": median_ms(partial(gzip.compress, raw)),
                "sha": median_ms(partial(hashlib.sha256, document)),
                "bids": median_ms(study.referenced_bids),
            }
            shares = " | ".join(
                f"{ms:.1f} ms ({ms / (append * 1000):.2f})" for ms in pieces.values()
            )
            print(
                f"| {target} | {append * 1000:.1f} ms | {shares} "
                f"| {len(document) // 1024} KiB ({len(raw) // 1024} KiB) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
