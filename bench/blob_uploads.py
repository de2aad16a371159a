"""An ingest's blob uploads alone: 300 x 512 KB blobs into a fresh file store.

Usage: python bench/blob_uploads.py [--blobs 300] [--rounds 3]

What an ingest session's uploader does, without HTTP or conversion: each blob
hashed, written, fsynced and linked on the process's upload pool
(``ParallelUploader``), then the one durability barrier of the session
(``wait``: the create batch's ``finish``). Printed for the batch as shipped (syncfs
while little is unwritten, else each directory fsynced) and for each way
forced (one ``syncfs``; each directory fsynced, as where there is no
syncfs), on a clean machine and with 150 MB of someone else's data left
unwritten (which syncfs has to write too): wall time, the barrier's own time
and the process's CPU. The reference is a raw copy of the same bytes (one file
per blob in one directory, written and fsynced, no hashing), measured in the
same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from mintstore.adapters import filesystem
from mintstore.adapters.filesystem import FileStore
from mintstore.store.blobs import BlobStore, ParallelUploader
from mintstore.store.config import StoreConfig

BLOB = 512 * 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _blobs(count: int, salt: int) -> list[bytes]:
    base = os.urandom(BLOB)
    return [salt.to_bytes(4, "big") + i.to_bytes(4, "big") + base[8:] for i in range(count)]


def _leave_dirty(directory: Path) -> None:
    """150 MB written and not synced: what another writer on the machine left."""
    piece = os.urandom(1024 * 1024)
    with open(directory / "someone-elses.bin", "wb") as out:
        for _ in range(150):
            out.write(piece)


def _uploads(blobs: list[bytes], work: Path) -> tuple[float, float, float]:
    """(wall, barrier, CPU) seconds of uploading ``blobs`` through one session's uploader."""
    store = FileStore(work / "store")
    uploader = ParallelUploader(BlobStore(store, StoreConfig()), StoreConfig().upload_workers)
    cpu, started = _cpu(), time.perf_counter()
    futures = [uploader.submit(blob) for blob in blobs]
    for future in futures:
        future.result()
    uploaded = time.perf_counter()
    uploader.wait()  # the batch's finish: every name durable
    finished = time.perf_counter()
    return finished - started, finished - uploaded, _cpu() - cpu


def _raw(blobs: list[bytes], work: Path) -> tuple[float, float, float]:
    directory = work / "raw"
    directory.mkdir()
    cpu, started = _cpu(), time.perf_counter()
    for index, blob in enumerate(blobs):
        descriptor = os.open(directory / f"{index:06d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            os.write(descriptor, blob)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    sync = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(sync)
    os.close(sync)
    return time.perf_counter() - started, 0.0, _cpu() - cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{args.blobs} blobs of {BLOB // 1024} KB, medians of {args.rounds} rounds")
    have_syncfs, unwritten = filesystem._SYNCFS, filesystem._unwritten_bytes
    ways = ["raw copy", "batch as shipped", "batch, syncfs", "batch, fsync each directory"]
    salt = int(time.time()) % 1_000_000
    for dirty in (False, True):
        for way in ways:
            if way == "batch, syncfs" and have_syncfs is None:
                continue
            figures = []
            for round_number in range(args.rounds):
                with tempfile.TemporaryDirectory(prefix="mint-bench-blobs-") as temp:
                    work = Path(temp)
                    blobs = _blobs(args.blobs, salt + 1000 * round_number + (500 if dirty else 0))
                    if dirty:
                        _leave_dirty(work)
                    else:
                        os.sync()
                    if way == "batch, syncfs":  # whatever is unwritten
                        filesystem._unwritten_bytes = lambda: 0
                    if way == "batch, fsync each directory":  # as without syncfs
                        filesystem._SYNCFS = None
                    try:
                        run = _raw if way == "raw copy" else _uploads
                        figures.append(run(blobs, work))
                    finally:
                        filesystem._SYNCFS, filesystem._unwritten_bytes = have_syncfs, unwritten
            columns = zip(*figures, strict=True)
            wall, barrier, cpu = (statistics.median(column) for column in columns)
            state = "150 MB unwritten" if dirty else "clean"
            print(
                f"  {state:16} {way:28} wall {wall:.3f} s  barrier {barrier:.3f} s  CPU {cpu:.3f} s"
            )
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
