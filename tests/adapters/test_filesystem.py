"""What only the file store has: processes, temp files, directories, OS errors."""

from __future__ import annotations

import array
import errno
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from mintstore.adapters import PutMode, open_store
from mintstore.adapters.filesystem import TMP_DIR, FileStore, translate_os_error
from mintstore.errors import (
    AccessDenied,
    AlreadyExists,
    NotFound,
    NotSupported,
    StoreError,
    StoreUnavailable,
)

PROCESSES = 4


def _race_create(root: str, racer: int, barrier: threading.Barrier, results: object) -> None:
    store = FileStore(root)
    content = f"written by process {racer}".encode() * 10_000
    barrier.wait()
    try:
        store.put("contested/key", content, mode=PutMode.CREATE)
        outcome = "won"
    except AlreadyExists:
        outcome = "lost"
    results.put((racer, outcome))  # type: ignore[attr-defined]


def test_create_race_across_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_race_create, args=(str(tmp_path), racer, barrier, results))
        for racer in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    winners = [racer for racer, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    expected = f"written by process {winners[0]}".encode() * 10_000
    assert FileStore(tmp_path).get_bytes("contested/key") == expected
    assert os.listdir(tmp_path / TMP_DIR) == []


def test_open_store_by_url_creates_the_root(tmp_path: Path) -> None:
    root = tmp_path / "new" / "store"
    with open_store(root.as_uri()) as store:
        store.put("k", b"v")
    assert (root / "k").read_bytes() == b"v"


def test_temp_files_never_show_in_listings(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("a", b"1")
    # A crashed writer's leftover temp file and stray non-key names are invisible.
    (tmp_path / TMP_DIR / "abandoned.part").write_bytes(b"partial")
    (tmp_path / "stray~name").write_bytes(b"?")
    assert [info.key for info in store.list()] == ["a"]


def test_delete_tidies_empty_directories(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("x/y/z/object", b"1")
    store.put("x/keep", b"2")
    store.delete("x/y/z/object")
    assert not (tmp_path / "x" / "y").exists()
    assert (tmp_path / "x" / "keep").exists()
    store.delete("x/keep")
    assert sorted(os.listdir(tmp_path)) == [TMP_DIR]


def test_puts_survive_concurrent_deletes_of_their_directory(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    errors: list[BaseException] = []

    def churn(worker: int) -> None:
        try:
            for round_ in range(150):
                key = f"shared/dir/{round_ % 3}/{worker}-{round_}"
                store.put(key, b"x")
                store.delete(key)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(store.list()) == []


def test_create_onto_a_directory_is_not_already_exists(tmp_path: Path) -> None:
    """AlreadyExists must mean a genuine create conflict, nothing else."""
    store = FileStore(tmp_path)
    store.put("a/b", b"1")
    with pytest.raises(NotSupported):
        store.put("a", b"2", mode=PutMode.CREATE)
    with pytest.raises(NotSupported):
        store.put("a", b"2")


def test_head_of_a_directory_is_not_found(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("a/b", b"1")
    with pytest.raises(NotFound):
        store.get_range("a", 0, 1)
    with pytest.raises(NotFound):
        store.get("a/b/c")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOENT, NotFound),
        (errno.EACCES, AccessDenied),
        (errno.EPERM, AccessDenied),
        (errno.EROFS, AccessDenied),
        (errno.ENOSPC, StoreError),
        (errno.EDQUOT, StoreError),
        (errno.ESTALE, StoreUnavailable),
        (errno.EMFILE, StoreError),
    ],
)
def test_os_errors_translate_through_one_table(code: int, expected: type[StoreError]) -> None:
    error = translate_os_error(OSError(code, os.strerror(code)), "some/key", writing=True)
    assert type(error) is expected
    assert "some/key" in str(error)


def test_no_space_left_is_reported_not_swallowed(tmp_path: Path) -> None:
    error = translate_os_error(OSError(errno.ENOSPC, "No space left on device"), "k", writing=True)
    assert "No space left on device" in str(error)


def test_put_writes_any_bytes_like_value_whole(tmp_path: Path) -> None:
    """Bytes-like puts are written from one view: typed and strided views included."""
    store = FileStore(tmp_path)
    words = array.array("H", range(3000))
    store.put("typed", memoryview(words))
    store.put("strided", memoryview(b"abcdefgh")[::2])
    store.put("large", bytearray(range(256)) * 20_000)  # above one 1 MiB chunk
    store.put("empty", memoryview(b""))
    with store.get("typed") as reader:
        assert reader.read() == words.tobytes()
    with store.get("strided") as reader:
        assert reader.read() == b"aceg"
    with store.get("large") as reader:
        assert reader.read() == bytes(range(256)) * 20_000
    assert store.head("empty").size == 0
    assert os.listdir(tmp_path / TMP_DIR) == []
