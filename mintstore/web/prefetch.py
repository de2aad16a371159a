"""Reading the next binary items while the current one is being sent.

Every item read back is hashed to check its digest, and hashing is where a
whole-study download spends its time. hashlib releases the GIL on large
buffers, so reading a few small items ahead on worker threads overlaps
hashing with sending and uses a second core. Only small items are read
ahead, and only a bounded number of them, so memory stays bounded; large
items stream straight from the store as before.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from mintstore.multipart import OutPart, ReadStream
from mintstore.store import StudyVersion

#: Items up to this size are read ahead whole.
MAX_PREFETCH_ITEM = 4 * 1024 * 1024
#: Consecutive small items are read in batches of about this many bytes: one
#: hand-over between threads per batch, not per item (a whole-study GET made
#: ~17,000 futex calls for 300 items, each a wait for a core on a busy machine).
BATCH_BYTES = 2 * 1024 * 1024
#: How many batches may be read ahead of the one being sent.
LOOKAHEAD = 3
#: One reader: it hashes the next batch while the request thread sends this
#: one. A second reader only added hand-overs (8 alternating runs at load 15-16:
#: whole-study GET 0.20-0.70 s with one, 0.73-1.09 s with two).
WORKERS = 1


def _read_whole(part: OutPart) -> bytes:
    """The part's whole content, verified (the store checks the digest at the end).

    A store reader's own chunks are joined directly: going through ``read(n)``
    would copy every byte twice more (into read's buffer, then into bytes),
    measurably adding to a whole-study download's CPU (~0.2 -> ~0.19 s per
    150 MB). A one-chunk item is joined without any copy at all.
    """
    stream = part.open()
    try:
        iter_chunks = getattr(stream, "iter_chunks", None)
        if iter_chunks is not None:
            return b"".join(iter_chunks())
        chunks = []
        while chunk := stream.read(1024 * 1024):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        stream.close()


def _read_batch(batch: list[OutPart]) -> list[bytes | Exception]:
    """Each part's content, up to the first that fails (its error ends the list).

    The error is raised only when the failing part's turn to be sent comes,
    so the parts before it still go out, exactly as without batching.
    """
    contents: list[bytes | Exception] = []
    for part in batch:
        try:
            contents.append(_read_whole(part))
        except Exception as error:  # handed over, raised in order by prefetched()
            contents.append(error)
            break
    return contents


def _opener(data: bytes) -> Callable[[], ReadStream]:
    return lambda: io.BytesIO(data)


def _batches(
    parts: Iterable[OutPart], inline: Collection[str]
) -> Iterator[tuple[list[OutPart], bool]]:
    """Runs of small parts up to BATCH_BYTES (True), and each large part, or part
    not worth reading ahead, alone (False)."""
    batch: list[OutPart] = []
    size = 0
    for part in parts:
        if part.length > MAX_PREFETCH_ITEM or part.content_id in inline:
            if batch:
                yield batch, True
                batch, size = [], 0
            yield [part], False
            continue
        batch.append(part)
        size += part.length
        if size >= BATCH_BYTES:
            yield batch, True
            batch, size = [], 0
    if batch:
        yield batch, True


def prefetched(parts: Iterable[OutPart], inline: Collection[str] = ()) -> Iterator[OutPart]:
    """The same parts, small ones already read (and verified) by a worker thread.

    Parts whose Content-ID is in ``inline`` are passed through, to be read by the
    caller's thread when their turn comes: a part whose check is cheap (a
    remembered checksum) costs more in thread hand-overs and fresh buffers
    when read ahead than it gains (whole-study GET, load 7.5: server CPU
    0.095 s inline vs 0.14 s read ahead, wall median 0.155 vs 0.25 s).
    """
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mint-prefetch") as pool:
        pending: deque[tuple[list[OutPart], Future[list[bytes | Exception]] | None]] = deque()
        source = _batches(parts, inline)
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < LOOKAHEAD:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                batch, small = item
                pending.append((batch, pool.submit(_read_batch, batch) if small else None))
            if not pending:
                break
            batch, future = pending.popleft()
            if future is None:
                yield from batch
                continue
            for part, data in zip(batch, future.result(), strict=False):
                if isinstance(data, Exception):
                    raise data
                yield OutPart(part.content_type, part.content_id, part.length, _opener(data))


def cheap_content_ids(version: StudyVersion) -> set[str]:
    """Content-IDs (``bid@study``) of the items best read inline, not ahead.

    Those whose check is cheap (a remembered checksum), but only while the
    machine has no core to spare. With one free, reading them ahead pays too:
    the reader thread's reads and checksums (both off the GIL) overlap with the
    request thread's socket writes (quiet 2-core machine, whole-study GET of
    300 x 512 KB, 6 alternating rounds: 0.173 -> 0.151 s warm). On a busy one
    the hand-overs cost more than they overlap (load 7.5: 0.155 s inline
    against 0.25 s read ahead).
    """
    if core_free():
        return set()
    study = version.study_uid
    return {f"{bid}@{study}" for bid in version.cheaply_checked_items()}


def core_free() -> bool:
    """Whether the 1-minute load average is below the cores we may run on: some core
    is idle part of the time, so a second thread's work need not wait for one."""
    try:
        load = os.getloadavg()[0]
        cores = len(os.sched_getaffinity(0))
    except (OSError, AttributeError):  # no load average, or no affinity (not Linux)
        return False
    return load < cores
