"""ObjectReader is the one streaming type every adapter returns."""

from __future__ import annotations

import io

from mintstore.adapters.base import ObjectInfo, ObjectReader, iter_chunks, known_size


def _reader(chunks: list[bytes]) -> ObjectReader:
    return ObjectReader(ObjectInfo("k", sum(map(len, chunks))), chunks)


def test_read_joins_chunks_of_any_size() -> None:
    assert _reader([b"ab", b"", b"cde", b"f"]).read() == b"abcdef"


def test_small_reads_cross_chunk_boundaries() -> None:
    reader = _reader([b"abc", b"def"])
    assert [reader.read(2), reader.read(2), reader.read(2), reader.read(2)] == [
        b"ab",
        b"cd",
        b"ef",
        b"",
    ]


def test_iter_chunks_resumes_after_a_partial_read() -> None:
    reader = _reader([b"abc", b"def"])
    assert reader.read(1) == b"a"
    assert list(reader.iter_chunks()) == [b"bc", b"def"]


def test_close_runs_the_release_hook_once() -> None:
    released: list[bool] = []
    reader = ObjectReader(ObjectInfo("k", 0), [], on_close=lambda: released.append(True))
    with reader:
        pass
    reader.close()
    assert released == [True]


def test_known_size_of_bytes_and_seekable_streams() -> None:
    stream = io.BytesIO(b"0123456789")
    stream.seek(4)
    assert known_size(b"abc") == 3
    assert known_size(stream) == 6
    assert stream.tell() == 4


def test_iter_chunks_of_bytes_and_streams_agree() -> None:
    data = bytes(range(256)) * 10
    assert b"".join(iter_chunks(data, 100)) == data
    assert b"".join(iter_chunks(io.BytesIO(data), 100)) == data
    assert all(len(chunk) <= 100 for chunk in iter_chunks(data, 100))
