"""At the syscall level: every directory a file-store put creates has its parent fsynced.

A directory's entry lives in its parent; if the parent is not fsynced, a power
loss can take the new directory away with every object published in it after
the put answered. strace watches a real put of a deep key into an empty store
(the shape of a new study's first commit record and blob) and of a key whose
parents partly exist.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = """
import sys
from mintstore.adapters.base import PutMode
from mintstore.adapters.filesystem import FileStore
store = FileStore(sys.argv[1])
print("PUT-START", flush=True)
for key in sys.argv[2:]:
    store.put(key, b"{}", mode=PutMode.CREATE)
"""

# strace -f -o prefixes each line with the pid.
_MKDIR = re.compile(r'^(?:\d+ +)?mkdir(?:at)?\((?:AT_FDCWD, )?"([^"]+)", [0-7]+\)\s+= 0')
_FSYNC = re.compile(r"^(?:\d+ +)?fsync\(\d+<([^>]+)>\)\s+= 0")


def _trace(root: Path, keys: list[str], tmp_path: Path) -> tuple[list[str], list[str]]:
    """(directories created, paths fsynced), in order, after the store was opened."""
    log = tmp_path / "strace.log"
    subprocess.run(
        ["strace", "-f", "-y", "-qq", "-e", "trace=mkdir,mkdirat,fsync,write", "-o", str(log),
         sys.executable, "-c", _SCRIPT, str(root), *keys],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    lines = log.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "PUT-START" in line)
    events = lines[start:]
    order: list[tuple[str, str]] = []
    for line in events:
        if made := _MKDIR.match(line):
            order.append(("mkdir", made.group(1)))
        elif synced_dir := _FSYNC.match(line):
            order.append(("fsync", synced_dir.group(1)))
    for index, (kind, path) in enumerate(order):
        if kind == "mkdir":
            parent = str(Path(path).parent)
            later = [p for k, p in order[index + 1 :] if k == "fsync"]
            assert parent in later, f"{parent} not fsynced after creating {path}"
    created = [path for kind, path in order if kind == "mkdir"]
    synced = [path for kind, path in order if kind == "fsync"]
    return created, synced


@pytest.mark.parametrize(
    "keys",
    [
        ["studies/ab12/log/000000000000.json"],
        ["blobs/sha256/aa/bb/aabbcc", "blobs/sha256/aa/cc/aaccdd", "changes/seq/0/1.json"],
    ],
)
def test_every_created_directory_has_its_parent_fsynced(tmp_path: Path, keys: list[str]) -> None:
    root = tmp_path / "store"
    created, synced = _trace(root, keys, tmp_path)
    # The keys' directories really were created during the puts (the store only
    # made its root and temp folder when it opened).
    for key in keys:
        assert str((root / key).parent) in created
    for directory in created:
        assert str(Path(directory).parent) in synced


_HELD_SCRIPT = """
import sys
from mintstore.adapters.base import PutMode
from mintstore.errors import AlreadyExists
from mintstore.adapters.filesystem import FileStore
store = FileStore(sys.argv[1])
store.put(sys.argv[2], b"{}", mode=PutMode.CREATE)
print("PUT-START", flush=True)
if sys.argv[3] == "head":
    store.head(sys.argv[2])
    print("HELD", flush=True)
try:
    if sys.argv[3] == "create":
        store.put(sys.argv[2], b"{}", mode=PutMode.CREATE)
except AlreadyExists:
    print("HELD", flush=True)
"""


@pytest.mark.parametrize("action", ["create", "head"])
def test_finding_the_key_held_syncs_its_directory_chain(tmp_path: Path, action: str) -> None:
    # A blob's create that loses to another writer is taken as stored, and
    # copy skips a blob whose head it sees: that writer may not have synced
    # its names yet, so the create (or head) syncs every directory from the
    # key's own to the store's root before it answers.
    root = tmp_path / "store"
    key = "blobs/sha256/aa/bb/aabbcc"
    log = tmp_path / "strace.log"
    done = subprocess.run(
        ["strace", "-f", "-y", "-qq", "-e", "trace=fsync,write", "-o", str(log),
         sys.executable, "-c", _HELD_SCRIPT, str(root), key, action],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "HELD" in done.stdout
    lines = log.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "PUT-START" in line)
    synced = [m.group(1) for line in lines[start:] if (m := _FSYNC.match(line))]
    chain = [root / "blobs/sha256/aa/bb", root / "blobs/sha256/aa", root / "blobs/sha256"]
    for directory in [*chain, root / "blobs", root]:
        assert str(directory) in synced, f"{directory} not fsynced: {synced}"
