"""Reads after the first check a remembered XXH3-128 instead of SHA-256: every byte is
still checked, a corrupted blob is still refused, and verify still recomputes SHA-256."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

import mintstore.store.blobs as blobs_module
from mintstore.adapters import PutMode
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import IntegrityError
from mintstore.store import Actor, StudyStore
from mintstore.store.blobs import BlobStore
from mintstore.store.config import StoreConfig
from mintstore.store.layout import blob_key
from mintstore.synthetic import write_ct_series

from .helpers import ingest_paths


def _read(blobs: BlobStore, digest: str, size: int) -> bytes:
    with blobs.open(digest, size) as reader:
        return reader.read()


def _store() -> tuple[MemoryStore, BlobStore]:
    objects = MemoryStore(secrets.token_hex(8))
    return objects, BlobStore(objects, StoreConfig())


def _corrupt(objects: MemoryStore, digest: str, size: int) -> None:
    """Same size, one bit flipped: only a check of the content can notice."""
    data = bytearray(objects.get_bytes(blob_key(digest)))
    data[size // 2] ^= 0x01
    objects.put(blob_key(digest), bytes(data), mode=PutMode.OVERWRITE)


def test_a_blob_corrupted_after_its_first_read_is_still_refused() -> None:
    objects, blobs = _store()
    content = secrets.token_bytes(300_000)
    digest, size = blobs.put(content)
    assert _read(blobs, digest, size) == content  # SHA-256 checked; checksum remembered
    assert _read(blobs, digest, size) == content  # the remembered checksum matches
    _corrupt(objects, digest, size)
    with pytest.raises(IntegrityError):
        _read(blobs, digest, size)
    with pytest.raises(IntegrityError):  # and on every later read too
        _read(blobs, digest, size)


def test_later_reads_use_the_remembered_checksum(monkeypatch: pytest.MonkeyPatch) -> None:
    _, blobs = _store()
    digest, size = blobs.put(secrets.token_bytes(1000))
    _read(blobs, digest, size)
    sha256_reads = []
    original = blobs_module._verified

    def counted(*args: object, **kwargs: object) -> object:
        sha256_reads.append(args[1])
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(blobs_module, "_verified", counted)
    _read(blobs, digest, size)
    assert sha256_reads == []


def test_bytes_that_failed_sha256_are_never_remembered() -> None:
    objects, blobs = _store()
    content = secrets.token_bytes(200_000)
    digest, size = blobs.put(content)
    _corrupt(objects, digest, size)
    with pytest.raises(IntegrityError):
        _read(blobs, digest, size)
    # The bad bytes were not taken as the reference: repaired, the blob reads
    # again (SHA-256 checked once more); still bad, it is still refused.
    with pytest.raises(IntegrityError):
        _read(blobs, digest, size)
    objects.put(blob_key(digest), content, mode=PutMode.OVERWRITE)
    assert _read(blobs, digest, size) == content


def test_a_short_blob_is_refused_on_the_checksum_path() -> None:
    objects, blobs = _store()
    content = secrets.token_bytes(5000)
    digest, size = blobs.put(content)
    _read(blobs, digest, size)
    objects.put(blob_key(digest), content[:-1], mode=PutMode.OVERWRITE)
    with pytest.raises(IntegrityError):
        _read(blobs, digest, size)
    with pytest.raises(IntegrityError), blobs.open(digest) as reader:  # size not given
        reader.read()


def test_deep_check_recomputes_sha256(monkeypatch: pytest.MonkeyPatch) -> None:
    objects, blobs = _store()
    digest, size = blobs.put(secrets.token_bytes(4000))
    _read(blobs, digest, size)

    def refused(*args: object) -> object:
        raise AssertionError("a deep check must not rely on the remembered checksum")

    monkeypatch.setattr(blobs_module, "_checksummed", refused)
    assert blobs.check(digest, size, deep=True) is None
    _corrupt(objects, digest, size)
    assert blobs.check(digest, size, deep=True) is not None


def test_a_version_names_the_items_already_checked(tmp_path: Path) -> None:
    store = StudyStore(MemoryStore(secrets.token_hex(8)))
    [result] = ingest_paths(
        store, write_ct_series(tmp_path, 3, rows=16, columns=16).paths, Actor("t", None)
    )
    version = store.open_version(result.study_uid)
    first = version.item_ids()[0]
    assert first not in version.cheaply_checked_items()
    with version.open_item(first) as reader:
        reader.read()
    assert version.cheaply_checked_items() == {first}
