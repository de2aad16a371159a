"""Create batches: many creates settled by one durability barrier (``finish``).

Every store creates each object at once; the file store links it as soon as
its content is fsynced and leaves the durability of the names to ``finish``.
After ``finish`` each object reads back as created, and a taken key is left
alone or overwritten as ``on_existing`` says. At the syscall level (strace)
no name is linked to content that was not fsynced first, and before
``finish`` returns either one ``syncfs`` follows every link and mkdir
(Linux), or, without it, every directory holding a new name and the parent
of every directory created were fsynced (once each).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mintstore.adapters import ObjectInfo, ObjectStore, PutMode
from mintstore.adapters.filesystem import TMP_DIR, FileStore
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import InvalidKey


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    return FileStore(tmp_path / "files") if request.param == "file" else MemoryStore()


def _keep(info: ObjectInfo | None) -> bool:
    return False


def _replace(info: ObjectInfo | None) -> bool:
    return True


def test_finished_creates_read_back(store: ObjectStore) -> None:
    with store.create_batch() as batch:
        batch.create("blobs/aa/bb/one", b"first", _keep)
        batch.create("blobs/aa/cc/two", memoryview(b"second"), _keep)
        batch.finish()
    assert store.get_bytes("blobs/aa/bb/one") == b"first"
    assert store.get_bytes("blobs/aa/cc/two") == b"second"


def test_a_taken_key_is_kept_or_replaced_as_on_existing_says(store: ObjectStore) -> None:
    store.put("kept", b"old", mode=PutMode.CREATE)
    store.put("replaced", b"old", mode=PutMode.CREATE)
    seen: list[int | None] = []

    def keep_and_note(info: ObjectInfo | None) -> bool:
        seen.append(info.size if info else None)
        return False

    with store.create_batch() as batch:
        batch.create("kept", b"new!", keep_and_note)
        batch.create("replaced", b"new!", _replace)
        batch.finish()
    assert store.get_bytes("kept") == b"old"
    assert seen == [3]  # told about the object that holds the key
    assert store.get_bytes("replaced") == b"new!"


def test_file_store_names_are_visible_at_create_with_no_temp_file_left(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    with store.create_batch() as batch:
        batch.create("blobs/aa/bb/one", b"first", _keep)
        assert store.get_bytes("blobs/aa/bb/one") == b"first"  # content durable before the link
        assert list((tmp_path / "files" / TMP_DIR).iterdir()) == []
        batch.finish()
    assert store.head("blobs/aa/bb/one").size == 5


def test_leaving_without_finish_keeps_what_was_created_and_no_temp_file(tmp_path: Path) -> None:
    """Batched objects are content-addressed blobs: unreferenced, they are gc's."""
    store = FileStore(tmp_path / "files")
    with pytest.raises(RuntimeError), store.create_batch() as batch:
        batch.create("blobs/aa/bb/one", b"first", _keep)
        raise RuntimeError("the ingest failed")
    assert [info.key for info in store.list("")] == ["blobs/aa/bb/one"]
    assert list((tmp_path / "files" / TMP_DIR).iterdir()) == []


def test_a_bad_key_fails_at_create(store: ObjectStore) -> None:
    with store.create_batch() as batch, pytest.raises(InvalidKey):
        batch.create("../escape", b"x", _keep)


_SCRIPT = """
import sys
from mintstore.adapters import PutMode
from mintstore.adapters import filesystem
from mintstore.adapters.filesystem import FileStore
if sys.argv[2] == "fsync":
    filesystem._SYNCFS = None  # as on a platform without syncfs
if sys.argv[2] == "syncfs":
    filesystem._unwritten_bytes = lambda: 0  # whatever else the test run is writing
if sys.argv[2] == "dirty":
    filesystem._unwritten_bytes = lambda: 1 << 40  # the machine holds much unwritten data
store = FileStore(sys.argv[1])
store.put("blobs/aa/zz/existing", b"there", mode=PutMode.CREATE)
print("BATCH-START", flush=True)
with store.create_batch() as batch:
    for key in sys.argv[3:]:
        batch.create(key, b"{}", lambda info: False)
    print("FINISH-START", flush=True)
    batch.finish()
print("FINISH-END", flush=True)
"""

_CALL = re.compile(r"^(?:\d+ +)?(\w+)\((.*)\)\s+= (-?\d+)")
_RESUMED = re.compile(r"^<\.\.\. \w+ resumed>(.*)$")
_PATH = re.compile(r'"([^"]+)"|<([^>]+)>')


def _events(
    root: Path, keys: list[str], tmp_path: Path, barrier: str
) -> list[tuple[str, list[str]]]:
    log = tmp_path / "strace.log"
    subprocess.run(
        ["strace", "-f", "-y", "-qq", "-e", "trace=mkdir,mkdirat,fsync,syncfs,link,linkat,write",
         "-o", str(log), sys.executable, "-c", _SCRIPT, str(root), barrier, *keys],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    events: list[tuple[str, list[str]]] = []
    started = False
    pending: dict[str, str] = {}  # pid -> the start of a call another thread interrupted
    for raw in log.read_text().splitlines():
        pid, _, rest = raw.partition(" ")
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest.removesuffix("<unfinished ...>")
            continue
        if resumed := _RESUMED.match(rest.lstrip()):
            rest = pending.pop(pid, "") + resumed.group(1)
        line = rest.lstrip()
        for marker in ("BATCH-START", "FINISH-START", "FINISH-END"):
            if marker in line:
                events.append((marker, []))
                started = True
        match = _CALL.match(line)
        if not started or match is None or match.group(3) != "0":
            continue
        paths = [a or b for a, b in _PATH.findall(match.group(2))]
        events.append((match.group(1).removesuffix("at"), paths))
    return events


@pytest.mark.parametrize("barrier", ["syncfs", "fsync", "dirty"])
def test_finish_makes_every_new_name_and_directory_durable_before_it_returns(
    tmp_path: Path, barrier: str
) -> None:
    root = tmp_path / "store"
    keys = ["blobs/aa/bb/aabb01", "blobs/aa/bb/aabb02", "blobs/cc/dd/ccdd01"]
    keys.append("blobs/aa/zz/existing")  # taken before the batch started
    events = _events(root, keys, tmp_path, barrier)
    names = [kind for kind, _ in events]
    begin = names.index("BATCH-START")
    start, end = names.index("FINISH-START"), names.index("FINISH-END")
    links = [(i, paths) for i, (kind, paths) in enumerate(events) if kind == "link"]
    mkdirs = [(i, paths) for i, (kind, paths) in enumerate(events) if kind == "mkdir"]
    assert len(links) == 3  # the taken key is not linked again
    assert all(begin < i < start for i, _ in links), "each name is published at its create"
    synced_at: dict[str, list[int]] = {}
    for i, (kind, paths) in enumerate(events):
        if kind == "fsync":
            synced_at.setdefault(paths[0], []).append(i)
    for i, paths in links:
        temp = paths[0]
        assert any(j < i for j in synced_at.get(temp, [])), f"{temp} linked before its fsync"
    if barrier == "syncfs":
        barriers = [i for i, (kind, _) in enumerate(events) if kind == "syncfs"]
        assert len(barriers) == 1 and start < barriers[0] < end
        directory_syncs = [p for p in synced_at if TMP_DIR not in p]
        assert directory_syncs == [], "syncfs replaces every directory fsync"
        return
    for i, paths in links:
        parent = str(Path(paths[-1]).parent)
        assert any(i < j < end for j in synced_at.get(parent, [])), f"{parent} not synced"
    for i, paths in mkdirs:
        parent = str(Path(paths[0]).parent)
        assert any(i < j < end for j in synced_at.get(parent, [])), f"{parent} not synced"
    # The taken key's directory chain is synced too: its writer may not have got there.
    for directory in ("blobs/aa/zz", "blobs/aa", "blobs", ""):
        path = str(root / directory) if directory else str(root)
        assert any(start < j < end for j in synced_at.get(path, [])), f"{path} not synced"
    # Each directory once: that is the point of the batch.
    directory_syncs = [p for p in synced_at if TMP_DIR not in p]
    assert all(len(synced_at[p]) == 1 for p in directory_syncs if start < synced_at[p][0] < end)
