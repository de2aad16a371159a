"""Create-if-absent and atomic overwrite under concurrency.

Emulators that silently ignore ``If-None-Match: *`` let every racer "win";
the race below catches that.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mintstore.adapters import ObjectStore, PutMode
from mintstore.errors import AlreadyExists

from .payloads import payload

RACERS = 16


def test_create_fails_when_the_key_exists(object_store: ObjectStore) -> None:
    object_store.put("once", b"first", mode=PutMode.CREATE)
    with pytest.raises(AlreadyExists):
        object_store.put("once", b"second", mode=PutMode.CREATE)
    assert object_store.get_bytes("once") == b"first"


def test_create_fails_for_an_existing_empty_object(object_store: ObjectStore) -> None:
    object_store.put("empty", b"")
    with pytest.raises(AlreadyExists):
        object_store.put("empty", b"content", mode=PutMode.CREATE)
    assert object_store.get_bytes("empty") == b""


def test_create_race_has_exactly_one_winner(object_store: ObjectStore) -> None:
    contents = [payload(64 * 1024, seed=racer) for racer in range(RACERS)]
    barrier = threading.Barrier(RACERS)

    def race(racer: int) -> str:
        barrier.wait()
        try:
            object_store.put("contested", contents[racer], mode=PutMode.CREATE)
        except AlreadyExists:
            return "lost"
        return "won"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(race, range(RACERS)))
    assert outcomes.count("won") == 1, outcomes
    assert outcomes.count("lost") == RACERS - 1
    winner = outcomes.index("won")
    assert object_store.get_bytes("contested") == contents[winner]


def test_overwrite_is_atomic_for_concurrent_readers(object_store: ObjectStore) -> None:
    """Readers see one whole version or another, never a mix or a truncation."""
    versions = [bytes([value]) * (512 * 1024 + value) for value in range(1, 7)]
    valid = set(versions)
    object_store.put("flip", versions[0])
    done = threading.Event()
    seen: list[bytes] = []
    failures: list[str] = []

    def read_until_done() -> None:
        while not done.is_set():
            content = object_store.get_bytes("flip")
            if content not in valid:
                failures.append(f"torn read of {len(content)} bytes")
            seen.append(content[:1])

    readers = [threading.Thread(target=read_until_done) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(3):
            for version in versions:
                object_store.put("flip", version, mode=PutMode.OVERWRITE)
            del round_
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert failures == []
    assert seen, "readers never ran"
    assert object_store.get_bytes("flip") == versions[-1]
