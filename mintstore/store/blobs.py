"""Content-addressed blobs: write once, read back verified.

Every blob is stored under the SHA-256 of its bytes with create-if-absent, so
storing something twice is free and harmless, and a half-written blob can
never be referenced (the commit record naming it is written afterwards).
Reads hash what they return and raise IntegrityError on the first mismatch.

The first read of a blob in this process checks its SHA-256 and, over the
same bytes, computes a 128-bit XXH3 checksum that is remembered (bounded,
by digest). Later reads of that blob check every byte against the
remembered checksum instead: still a check of each byte read against a
value derived from bytes whose SHA-256 matched the blob's name, at ~15 GB/s
instead of SHA-256's ~1.7 GB/s (on a whole-study download SHA-256 was the
largest single cost: 0.09 s of CPU per 150 MB). ``check`` (``verify``, copies)
always recomputes SHA-256.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_for_all
from functools import partial
from typing import IO, cast

import xxhash

from mintstore.adapters import ObjectInfo, ObjectReader, ObjectStore, PutMode
from mintstore.adapters.base import CreateBatch
from mintstore.adapters.thread_pool import FixedThreadPool, shared_pool
from mintstore.errors import AlreadyExists, IntegrityError, NotFound
from mintstore.file_range import FileRange, ItemContent

from .config import StoreConfig
from .digest_cache import DigestCache
from .layout import blob_key

#: Uploads from a stream are spooled to memory up to this size, then to disk:
#: the digest (and so the key) is only known once the last byte was read.
SPOOL_LIMIT = 8 * 1024 * 1024
#: Weight of one remembered checksum (digest string, size, 16 bytes, cache entry).
CHECKSUM_WEIGHT = 256
#: The share of ``StoreConfig.cache_bytes`` the remembered checksums may use:
#: 16 MiB of the default 256 MiB, ~65,000 blobs.
CHECKSUM_SHARE = 16


class BlobStore:
    """The blobs/ area of one bucket."""

    def __init__(self, objects: ObjectStore, config: StoreConfig) -> None:
        self.objects = objects
        self.config = config
        #: digest -> (size, XXH3-128 of the bytes whose SHA-256 was checked).
        self._checksums: DigestCache[tuple[int, bytes]] = DigestCache(
            config.cache_bytes // CHECKSUM_SHARE
        )

    def put(self, data: ItemContent, batch: CreateBatch | None = None) -> tuple[str, int]:
        """Store bytes, or a value left in its file; return (digest, size).

        Already stored is success. A :class:`FileRange` is read twice in
        chunks (hashing, then writing: the key is the digest), never whole.
        With ``batch``, the blob is durable (and referable) once the batch is
        finished, not when this returns.
        """
        if isinstance(data, FileRange):
            digest = data.sha256()
            with data.open() as reader:
                self._put_keyed(digest, cast(IO[bytes], reader), batch)
            return digest, data.length
        digest = hashlib.sha256(data).hexdigest()
        self._put_keyed(digest, data, batch)
        return digest, len(data)

    def put_stream(self, stream: IO[bytes] | ObjectReader) -> tuple[str, int]:
        """Store a stream without holding it in memory; return (digest, size)."""
        spool, digest, size = spool_stream(stream)
        with spool:
            self.put_spooled(digest, spool)
        return digest, size

    def put_spooled(self, digest: str, spool: IO[bytes], batch: CreateBatch | None = None) -> None:
        """Store a spooled stream whose digest is already known (``batch``: as for ``put``)."""
        spool.seek(0)
        self._put_keyed(digest, spool, batch)

    def put_in(self, batch: CreateBatch, data: bytes | memoryview) -> tuple[str, int]:
        """Like ``put``, but durable (and referable) only once ``batch`` is finished."""
        digest = hashlib.sha256(data).hexdigest()
        batch.create(blob_key(digest), data, self._is_stale)
        return digest, len(data)

    def _put_keyed(
        self, digest: str, data: bytes | memoryview | IO[bytes], batch: CreateBatch | None
    ) -> None:
        key = blob_key(digest)
        if batch is not None:
            batch.create(key, data, self._is_stale)
            return
        try:
            self.objects.put(key, data, mode=PutMode.CREATE)
        except AlreadyExists:
            self._refresh_if_old(key, data)

    def _refresh_if_old(self, key: str, data: bytes | memoryview | IO[bytes]) -> None:
        """Re-put an old blob so a concurrent gc cannot take it from a new commit.

        gc only deletes unreferenced blobs older than the grace period; a blob
        we are about to reference but that is older than half of it is
        rewritten (same bytes, so OVERWRITE is safe) to make it young again.
        """
        try:
            info = self.objects.head(key)
        except NotFound:  # gc removed it between our put and head: store it again
            info = None
        if self._is_stale(info):
            if not isinstance(data, bytes | memoryview):
                data.seek(0)
            self.objects.put(key, data, mode=PutMode.OVERWRITE)

    def _is_stale(self, info: ObjectInfo | None) -> bool:
        """True if a stored blob must be written again before a new commit uses it."""
        threshold = self.config.clock() - self.config.gc_grace / 2
        return info is None or info.last_modified is None or info.last_modified < threshold

    def head(self, digest: str) -> ObjectInfo:
        return self.objects.head(blob_key(digest))

    def exists(self, digest: str) -> bool:
        return self.objects.exists(blob_key(digest))

    def open(self, digest: str, size: int | None = None) -> ObjectReader:
        """Stream a blob; its bytes (and size) are checked as the last byte is read.

        Against the checksum remembered from an earlier SHA-256-checked read
        when there is one, else against the SHA-256 digest itself.
        """
        key = blob_key(digest)
        raw = self.objects.get(key)
        known = self._checksums.get(digest)
        if known is not None:
            chunks = _checksummed(raw, known, size, key)
        else:
            chunks = _verified(raw, digest, size, key, self._remember)
        return ObjectReader(raw.info, chunks, on_close=raw.close)

    def remembers(self, digest: str) -> bool:
        """Whether reads of this blob check a remembered checksum (cheap) rather
        than SHA-256: callers may then read it inline instead of ahead on a thread."""
        return self._checksums.get(digest) is not None

    def _remember(self, digest: str, size: int, checksum: bytes) -> None:
        self._checksums.put(digest, (size, checksum), CHECKSUM_WEIGHT)

    def _open_sha256(self, digest: str, size: int | None) -> ObjectReader:
        """Stream a blob checked against its SHA-256, whatever is remembered."""
        key = blob_key(digest)
        raw = self.objects.get(key)
        return ObjectReader(raw.info, _verified(raw, digest, size, key), on_close=raw.close)

    def read(self, digest: str, size: int | None = None) -> bytes:
        with self.open(digest, size) as reader:
            return reader.read()

    def read_range(self, digest: str, start: int, end: int) -> bytes:
        """A byte range; not digest-checked (that needs the whole blob)."""
        return self.objects.get_range(blob_key(digest), start, end)

    def check(self, digest: str, size: int | None, *, deep: bool) -> str | None:
        """None if the blob is sound, else what is wrong with it."""
        try:
            if not deep:
                info = self.head(digest)
                if size is not None and info.size != size:
                    return f"size {info.size} != recorded {size}"
                return None
            with self._open_sha256(digest, size) as reader:
                for _ in reader.iter_chunks():
                    pass
            return None
        except NotFound:
            return "missing"
        except IntegrityError as exc:
            return str(exc)


def spool_stream(stream: IO[bytes] | ObjectReader) -> tuple[IO[bytes], str, int]:
    """Copy a stream to a spool file, hashing it: the key is known only at the end."""
    hasher = hashlib.sha256()
    size = 0
    # Handed to the caller, who closes it: no context manager here.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_LIMIT)  # noqa: SIM115
    try:
        while chunk := stream.read(1024 * 1024):
            hasher.update(chunk)
            spool.write(chunk)
            size += len(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, hasher.hexdigest(), size


def _verified(
    raw: ObjectReader,
    digest: str,
    size: int | None,
    key: str,
    remember: Callable[[str, int, bytes], None] | None = None,
) -> Iterator[bytes]:
    """The blob's chunks; IntegrityError after the last if the SHA-256 (or size) differs.

    With ``remember``, the XXH3-128 of the same bytes is handed to it once the
    SHA-256 matched, for later reads to check against.
    """
    hasher = hashlib.sha256()
    checksum = xxhash.xxh3_128() if remember is not None else None
    count = 0
    for chunk in raw.iter_chunks():
        hasher.update(chunk)
        if checksum is not None:
            checksum.update(chunk)
        count += len(chunk)
        yield chunk
    if size is not None and count != size:
        raise IntegrityError(f"blob has {count} bytes, expected {size} ({key})")
    if hasher.hexdigest() != digest:
        raise IntegrityError(f"blob content does not match its digest ({key})")
    if remember is not None and checksum is not None:
        remember(digest, count, checksum.digest())


def _checksummed(
    raw: ObjectReader, known: tuple[int, bytes], size: int | None, key: str
) -> Iterator[bytes]:
    """The blob's chunks; IntegrityError after the last if they differ from the
    bytes whose SHA-256 an earlier read checked (size and XXH3-128)."""
    expected_size, expected = known
    checksum = xxhash.xxh3_128()
    count = 0
    for chunk in raw.iter_chunks():
        checksum.update(chunk)
        count += len(chunk)
        yield chunk
    if size is not None and count != size:
        raise IntegrityError(f"blob has {count} bytes, expected {size} ({key})")
    if count != expected_size or checksum.digest() != expected:
        raise IntegrityError(f"blob content does not match its digest ({key})")


class ParallelUploader:
    """Uploads blobs on a bounded worker pool with a bounded backlog.

    The backlog bound keeps memory flat: a caller producing items faster than
    the store absorbs them blocks instead of queueing a whole study.
    """

    def __init__(self, blobs: BlobStore, workers: int, pool: FixedThreadPool | None = None) -> None:
        self._blobs = blobs
        # The process's pool, its threads already running: a session starts no
        # thread (see adapters/thread_pool.py for the stall that per-session pools caused).
        self._pool = pool if pool is not None else shared_pool("blob", workers)
        self._slots = threading.BoundedSemaphore(max(1, workers) * 2)
        self._futures: list[Future[tuple[str, int]]] = []
        # One durability barrier for all of this session's blobs, in wait():
        # on the file store each upload then costs its content's fsync only,
        # not also two or three directory fsyncs (see FileCreateBatch).
        self._batch = blobs.objects.create_batch()

    def submit(self, data: ItemContent) -> Future[tuple[str, int]]:
        """Upload ``data`` on a worker; the future's digest is referable after ``wait``."""
        self._slots.acquire()
        try:
            future = self._pool.submit(partial(self._blobs.put, data, self._batch))
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        self._futures.append(future)
        return future

    def submit_stream(self, stream: IO[bytes] | ObjectReader) -> Future[tuple[str, int]]:
        """Read ``stream`` here (spooling and hashing it), upload on a worker."""
        spool, digest, size = spool_stream(stream)

        def upload() -> tuple[str, int]:
            with spool:
                self._blobs.put_spooled(digest, spool, self._batch)
            return digest, size

        self._slots.acquire()
        try:
            future = self._pool.submit(upload)
        except BaseException:
            self._slots.release()
            spool.close()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        self._futures.append(future)
        return future

    def wait(self) -> None:
        """Wait for every upload, then make them all durable; the first failure is raised.

        Each upload writes, fsyncs and links its blob on the pool, overlapped
        with the parsing of the next parts; the names' durability is settled
        here once for the whole session (the batch's ``finish``: one
        ``syncfs`` on Linux file stores). Only after this may a commit record
        name the blobs.
        """
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()
        self._batch.finish()

    def close(self) -> None:
        """Cancel this session's queued uploads and wait for its running ones.

        The pool is shared and stays up; what a closed session left running
        still finishes (a blob is harmless without a commit naming it).
        """
        futures, self._futures = self._futures, []
        for future in futures:
            future.cancel()
        wait_for_all(futures)
        self._batch.discard()
