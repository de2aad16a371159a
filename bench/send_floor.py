"""The floor under a whole-study download: a study's blob files sent over loopback four ways.

Usage: python bench/send_floor.py [--slices 300] [--rounds 5]

Ingests a synthetic CT study into a fresh file store, then serves its blob files
(in a separate process, one connection per round) to a Python reader that reads
1 MiB at a time, as bench/http_api.py's client does:

* ``sendfile``: the kernel sends the page cache; no byte is checked;
* ``read+send``: each file read into a new buffer and sent; nothing checked;
* ``read+xxh3+send``: the same, each buffer checked with XXH3-128 before it is
  sent, which is what a warm verified read costs at least;
* ``xxh3+sendfile``: each file read through a reused buffer and checked, then
  sent with ``sendfile``, which sends the page cache as it is then, not the
  bytes just checked.

Prints the best of ``--rounds`` for each, in milliseconds. The gap between the
third line and ``GET /studies/{uid}`` (bench/profile_server.py) is what the
server adds above a verified read.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import tempfile
import time
from pathlib import Path

import xxhash

from mintstore.store.opening import open_study_store
from mintstore.store.types import Actor
from mintstore.synthetic import write_ct_series

MODES = ("sendfile", "read+send", "read+xxh3+send", "xxh3+sendfile")
READ = 1024 * 1024


def _send_all_files(connection: socket.socket, files: list[Path], mode: str) -> None:
    buffer = memoryview(bytearray(256 * 1024))
    for path in files:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(descriptor).st_size
            if mode in ("read+send", "read+xxh3+send"):
                data = os.read(descriptor, size)
                if mode == "read+xxh3+send":
                    xxhash.xxh3_128(data).digest()
                connection.sendall(data)
                continue
            if mode == "xxh3+sendfile":
                checksum = xxhash.xxh3_128()
                while count := os.readv(descriptor, [buffer]):
                    checksum.update(buffer[:count])
                checksum.digest()
            offset = 0
            while offset < size:
                offset += os.sendfile(connection.fileno(), descriptor, offset, size - offset)
        finally:
            os.close(descriptor)


def _serve(listener: socket.socket, files: list[Path]) -> None:
    """One request per connection: the mode's name, then every file; ``stop`` ends."""
    while True:
        connection, _ = listener.accept()
        with connection:
            mode = connection.recv(64).decode()
            if mode == "stop":
                return
            _send_all_files(connection, files, mode)


def _receive(port: int, mode: str) -> int:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(mode.encode())
        with connection.makefile("rb") as stream:
            total = 0
            while chunk := stream.read(READ):
                total += len(chunk)
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="mint-send-floor-") as temp:
        work = Path(temp)
        write_ct_series(work / "ct", args.slices, seed=1)
        store = open_study_store((work / "store").as_uri())
        with store.begin_ingest() as session:
            for path in sorted((work / "ct").glob("*.dcm")):
                with path.open("rb") as stream:
                    session.add_part10(stream)
            session.commit(Actor("bench"))
        store.close()
        files = sorted(p for p in (work / "store" / "blobs").rglob("*") if p.is_file())
        expected = sum(path.stat().st_size for path in files)
        listener = socket.create_server(("127.0.0.1", 0))
        server = multiprocessing.Process(target=_serve, args=(listener, files))
        server.start()
        port = listener.getsockname()[1]
        try:
            print(f"{len(files)} blob files, {expected / 1024**2:.1f} MB")
            for mode in MODES:
                best = float("inf")
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    received = _receive(port, mode)
                    best = min(best, time.perf_counter() - started)
                    assert received == expected, (mode, received, expected)
                print(f"{mode:16} best of {args.rounds}: {best * 1000:7.1f} ms")
        finally:
            with socket.create_connection(("127.0.0.1", port)) as connection:
                connection.sendall(b"stop")
            server.join(timeout=30)
            listener.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
