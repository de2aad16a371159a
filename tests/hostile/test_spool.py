"""One request's parts: bounded memory, one file, every byte back."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest

from mintstore.errors import InvalidInput
from mintstore.multipart import iter_parts
from mintstore.multipart.spool import RequestSpool, SpoolLimits


def _body(sizes: list[int]) -> tuple[bytes, list[bytes]]:
    contents = [os.urandom(16) * (size // 16) for size in sizes]
    chunks = []
    for index, content in enumerate(contents):
        chunks.append(
            b"--b1\r\nContent-Type: application/octet-stream\r\n"
            + f"Content-ID: <{index}@s>\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return b"".join(chunks) + b"--b1--\r\n", contents


def test_many_parts_just_under_a_megabyte_stay_out_of_memory() -> None:
    body, contents = _body([900 * 1024] * 40)
    spool = RequestSpool(None)
    tracemalloc.start()
    try:
        kept = []
        for part in iter_parts(io.BytesIO(body), "b1", None, spool):
            kept.append(part.body)  # all kept until the "commit", like binaryN parts
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The body itself is in memory (BytesIO, 36 MiB); the parts add at most the
    # allowance plus the reader's buffers, not another 36 MiB.
    assert peak < 16 * 1024**2, peak
    for body_file, content in zip(kept, contents, strict=True):
        body_file.seek(0)
        assert body_file.read() == content
    spool.close()


def test_mixed_sizes_read_back_exactly() -> None:
    sizes = [0, 16, 100_000, 300_000, 5_000_000, 16, 2_000_000, 700_000] * 3
    body, contents = _body(sizes)
    spool = RequestSpool(None, SpoolLimits(memory_per_request=1024**2, memory_per_part=256 * 1024))
    parts = list(iter_parts(io.BytesIO(body), "b1", None, spool))
    for part, content in zip(parts, contents, strict=True):
        part.body.seek(0)
        assert part.body.read() == content
        part.body.seek(3)
        assert part.body.read(5) == content[3:8]
    spool.close()


def test_part_count_is_limited() -> None:
    body, _ = _body([16] * 11)
    spool = RequestSpool(None, SpoolLimits(max_parts=10))
    with pytest.raises(InvalidInput, match="more than 10 parts"):
        list(iter_parts(io.BytesIO(body), "b1", None, spool))
    spool.close()
