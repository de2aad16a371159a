"""What the object-store adapters cost over their raw SDKs.

PUTs then GETs ``--count`` objects of ``--size`` bytes with ``--workers``
threads, once through each adapter and once through the SDK it wraps doing
the same requests the plainest way (boto3 put_object/get_object against the
moto server, azure-storage-blob upload_blob/download_blob against Azurite,
swiftclient put_object/get_object against a one-node Swift, plain file
write/read for the filesystem store), and prints times, objects/s and the
adapter/raw ratio. Adapters are measured in both put modes: CREATE is what
the storage engine uses for content, and costs an extra round trip on Swift
(the read-back that makes create-if-absent safe there).

The servers are started (and stopped) here with the test fixtures'
machinery. The machine is shared and noisy, so variants take turns in
batches of ``--batch`` objects and the best of ``--rounds`` is reported.

    .venv/bin/python -m bench.objectstore [--workers 8] [--backends swift,file]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mintstore.adapters import ObjectStore, PutMode
from mintstore.adapters.registry import StoreLocation, parse_store_url
from mintstore.testing.backends import BackendPool, StoreSpec

BACKENDS = ("moto-server", "azurite", "swift", "file")


class Client(Protocol):
    """The two operations measured, whoever performs them."""

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes: ...


def _full(location: StoreLocation, name: str) -> str:
    return f"{location.prefix}/{name}" if location.prefix else name


class RawS3:
    def __init__(self, spec: StoreSpec, workers: int) -> None:
        import boto3
        from botocore.config import Config

        self._location = parse_store_url(spec.url)
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=self._location.options.get("endpoint_url"),
            region_name=spec.environ["AWS_DEFAULT_REGION"],
            aws_access_key_id=spec.environ["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=spec.environ["AWS_SECRET_ACCESS_KEY"],
            config=Config(max_pool_connections=max(10, workers)),
        )

    def put(self, name: str, data: bytes) -> None:
        self._client.put_object(
            Bucket=self._location.container, Key=_full(self._location, name), Body=data
        )

    def get(self, name: str) -> bytes:
        response = self._client.get_object(
            Bucket=self._location.container, Key=_full(self._location, name)
        )
        return bytes(response["Body"].read())


class RawAzure:
    def __init__(self, spec: StoreSpec, workers: int) -> None:
        from azure.storage.blob import ContainerClient

        self._location = parse_store_url(spec.url)
        self._container = ContainerClient.from_connection_string(
            spec.environ["AZURE_STORAGE_CONNECTION_STRING"], self._location.container
        )

    def put(self, name: str, data: bytes) -> None:
        self._container.upload_blob(_full(self._location, name), data, overwrite=True)

    def get(self, name: str) -> bytes:
        return self._container.download_blob(_full(self._location, name)).readall()


class RawSwift:
    """One swiftclient Connection per thread (they are not thread-safe)."""

    def __init__(self, spec: StoreSpec, workers: int) -> None:
        self._location = parse_store_url(spec.url)
        self._environ = spec.environ
        self._local = threading.local()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            import swiftclient

            connection = swiftclient.Connection(
                authurl=self._environ["ST_AUTH"],
                user=self._environ["ST_USER"],
                key=self._environ["ST_KEY"],
                auth_version="1",
            )
            self._local.connection = connection
        return connection

    def put(self, name: str, data: bytes) -> None:
        self._connection().put_object(
            self._location.container, _full(self._location, name), contents=data
        )

    def get(self, name: str) -> bytes:
        _, body = self._connection().get_object(
            self._location.container, _full(self._location, name)
        )
        return bytes(body)


class RawFile:
    """Plain open/write/read: no temp file, no fsync, no rename."""

    def __init__(self, spec: StoreSpec, workers: int) -> None:
        self._root = Path(parse_store_url(spec.url).path)

    def put(self, name: str, data: bytes) -> None:
        path = self._root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def get(self, name: str) -> bytes:
        return (self._root / name).read_bytes()


class DurableRawFile(RawFile):
    """Plain write plus the durability the file store promises: fsync of the
    file and of its directory. The fair reference for an acknowledged write."""

    def put(self, name: str, data: bytes) -> None:
        path = self._root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


#: Extra references printed beside "raw SDK" where the plain raw loop gives
#: weaker guarantees than the adapter (the ratio column uses both).
DURABLE_RAW_CLIENTS: dict[str, Callable[[StoreSpec, int], Client]] = {"file": DurableRawFile}

RAW_CLIENTS: dict[str, Callable[[StoreSpec, int], Client]] = {
    "moto-server": RawS3,
    "azurite": RawAzure,
    "swift": RawSwift,
    "file": RawFile,
}


class AdapterClient:
    def __init__(self, store: ObjectStore, mode: PutMode) -> None:
        self._store = store
        self._mode = mode

    def put(self, name: str, data: bytes) -> None:
        self._store.put(name, data, mode=self._mode)

    def get(self, name: str) -> bytes:
        return self._store.get_bytes(name)


@dataclass
class Timing:
    put: float = float("inf")
    get: float = float("inf")


def _timed(pool: ThreadPoolExecutor, work: Callable[[str], object], names: Sequence[str]) -> float:
    start = time.perf_counter()
    list(pool.map(work, names))
    return time.perf_counter() - start


def bench_backend(
    name: str, spec: StoreSpec, args: argparse.Namespace, data: bytes
) -> dict[str, Timing]:
    """Best-of-rounds PUT and GET times for the raw SDK and each adapter mode.

    Within a round the variants take turns batch by batch (rotating who goes
    first), so that load from other processes on a shared machine falls on
    all of them alike instead of on whichever ran during a busy second.
    """
    store = spec.open()
    clients: dict[str, Client] = {
        "raw SDK": RAW_CLIENTS[name](spec, args.workers),
        **(
            {"raw durable": DURABLE_RAW_CLIENTS[name](spec, args.workers)}
            if name in DURABLE_RAW_CLIENTS
            else {}
        ),
        "adapter OVERWRITE": AdapterClient(store, PutMode.OVERWRITE),
        "adapter CREATE": AdapterClient(store, PutMode.CREATE),
    }
    variants = list(clients)
    timings = {variant: Timing() for variant in clients}
    with ThreadPoolExecutor(args.workers) as pool:
        for position, client in enumerate(clients.values()):  # warm-up: connections, auth
            warm = [f"warm/{position}/{index}" for index in range(args.workers * 2)]
            list(pool.map(lambda key, client=client: client.put(key, data), warm))
            list(pool.map(client.get, warm))
        for round_number in range(args.rounds):
            names = {
                variant: [f"r{round_number}/v{position}/{index:05d}" for index in range(args.count)]
                for position, variant in enumerate(variants)
            }
            totals = {variant: Timing(0.0, 0.0) for variant in variants}
            for op in ("put", "get"):
                for batch, start in enumerate(range(0, args.count, args.batch)):
                    shift = batch % len(variants)
                    for variant in variants[shift:] + variants[:shift]:
                        client = clients[variant]
                        work = _put_work(client, data) if op == "put" else _get_work(client, data)
                        batch_names = names[variant][start : start + args.batch]
                        elapsed = _timed(pool, work, batch_names)
                        setattr(totals[variant], op, getattr(totals[variant], op) + elapsed)
            for variant in variants:
                timings[variant].put = min(timings[variant].put, totals[variant].put)
                timings[variant].get = min(timings[variant].get, totals[variant].get)
                list(pool.map(store.delete, names[variant]))  # keep emulators small
    store.close()
    return timings


def _put_work(client: Client, data: bytes) -> Callable[[str], None]:
    def put(key: str) -> None:
        client.put(key, data)

    return put


def _get_work(client: Client, data: bytes) -> Callable[[str], None]:
    def get(key: str) -> None:
        if len(client.get(key)) != len(data):
            raise AssertionError(f"short read of {key}")

    return get


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def print_table(results: dict[str, dict[str, Timing]], count: int) -> None:
    header = ["backend", "op", "variant", "seconds", "objects/s", "adapter/raw", "/durable raw"]
    print(_row(header))
    print(_row(["---"] * len(header)))
    for backend, timings in results.items():
        raw = timings["raw SDK"]
        durable = timings.get("raw durable")
        for op in ("put", "get"):
            for variant, timing in timings.items():
                if op == "get" and variant in ("adapter CREATE", "raw durable"):
                    continue  # same read path as OVERWRITE / raw; their objects are read above
                seconds = getattr(timing, op)
                is_adapter = variant.startswith("adapter")
                ratio = f"{seconds / getattr(raw, op):.2f}" if is_adapter else ""
                durable_ratio = (
                    f"{seconds / durable.put:.2f}"
                    if is_adapter and durable is not None and op == "put"
                    else ""
                )
                cells = [backend, op.upper(), variant, f"{seconds:.2f}", f"{count / seconds:.0f}"]
                print(_row([*cells, ratio, durable_ratio]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", type=int, default=512 * 1024)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50, help="objects per interleaved batch")
    parser.add_argument("--tools-dir", type=Path, default=Path(".tools"))
    args = parser.parse_args(argv)
    names = [name for name in args.backends.split(",") if name]
    unknown = set(names) - set(RAW_CLIENTS)
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}; choose from {', '.join(BACKENDS)}")
    data = os.urandom(args.size)
    results: dict[str, dict[str, Timing]] = {}
    with BackendPool(args.tools_dir) as pool:
        for name in names:
            backend = pool.get(name)
            with backend.activate():
                results[name] = bench_backend(name, backend.fresh(), args, data)
            print(f"{name}: done", flush=True)
    print(
        f"\n{args.count} objects of {args.size} bytes, {args.workers} workers, "
        f"best of {args.rounds} rounds\n"
    )
    print_table(results, args.count)


if __name__ == "__main__":
    main()
