"""Read-ahead of binary items must keep the store's guarantees: every item read ahead
is still digest-checked, and the parts come out complete and in order."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

import pytest

from mintstore.adapters import PutMode
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import IntegrityError
from mintstore.multipart import OutPart, ReadStream
from mintstore.store.blobs import BlobStore
from mintstore.store.config import StoreConfig
from mintstore.store.layout import blob_key
from mintstore.web import prefetch
from mintstore.web.prefetch import MAX_PREFETCH_ITEM, prefetched


def _opener(blobs: BlobStore, digest: str, size: int) -> Callable[[], ReadStream]:
    return lambda: blobs.open(digest, size)


def _blob_parts(blobs: BlobStore, contents: list[bytes]) -> list[OutPart]:
    parts = []
    for index, content in enumerate(contents):
        digest, size = blobs.put(content)
        parts.append(
            OutPart(
                "application/octet-stream", f"{index}@study", size, _opener(blobs, digest, size)
            )
        )
    return parts


def _read(part: OutPart) -> bytes:
    stream = part.open()
    try:
        return b"".join(iter(lambda: stream.read(1 << 20) or b"", b""))
    finally:
        stream.close()


def test_prefetched_parts_are_complete_and_in_order() -> None:
    blobs = BlobStore(MemoryStore(secrets.token_hex(8)), StoreConfig())
    # Small items (read ahead) around one too large to read ahead, several chunks long.
    contents = [secrets.token_bytes(size) for size in (10, 700_000, 1, 3 * 1024 * 1024)]
    contents.insert(2, secrets.token_bytes(MAX_PREFETCH_ITEM + 1))
    parts = _blob_parts(blobs, contents)
    out = list(prefetched(parts))
    assert [part.content_id for part in out] == [part.content_id for part in parts]
    assert [_read(part) for part in out] == contents


def test_a_corrupted_item_read_ahead_raises_integrity_error() -> None:
    objects = MemoryStore(secrets.token_hex(8))
    blobs = BlobStore(objects, StoreConfig())
    contents = [secrets.token_bytes(600_000) for _ in range(3)]
    parts = _blob_parts(blobs, contents)
    # Same size, other bytes: only the digest check can notice.
    digest, _ = blobs.put(contents[1])
    objects.put(blob_key(digest), secrets.token_bytes(600_000), mode=PutMode.OVERWRITE)
    stream = prefetched(parts)
    assert _read(next(stream)) == contents[0]
    with pytest.raises(IntegrityError):
        next(stream)


def test_parts_named_inline_are_passed_through_unread() -> None:
    blobs = BlobStore(MemoryStore(secrets.token_hex(8)), StoreConfig())
    contents = [secrets.token_bytes(1000) for _ in range(4)]
    parts = _blob_parts(blobs, contents)
    out = list(prefetched(parts, inline={"1@study", "3@study"}))
    assert [part.open is source.open for part, source in zip(out, parts, strict=True)] == [
        False,
        True,
        False,
        True,
    ]
    assert [_read(part) for part in out] == contents


@pytest.mark.parametrize(("load", "expect_inline"), [(0.3, False), (7.5, True)])
def test_cheaply_checked_items_are_read_inline_only_on_a_busy_machine(
    monkeypatch: pytest.MonkeyPatch, load: float, expect_inline: bool
) -> None:
    """With a core to spare even remembered-checksum items are read ahead (measured
    faster on a quiet machine); on a busy one they are read by the request thread."""

    class _Version:
        study_uid = "1.2.3"

        def cheaply_checked_items(self) -> set[int]:
            return {4, 7}

    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    inline = prefetch.cheap_content_ids(_Version())  # type: ignore[arg-type]
    assert inline == ({"4@1.2.3", "7@1.2.3"} if expect_inline else set())
