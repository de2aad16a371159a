"""A store written in the layout before the partitioned change log and index
(commit 8776e24: flat ``changes/seq/<n>.json``, whole ``index/manifest/<upto>.jsonl.gz``,
index rows without the study-level columns) is refused until ``mintstore migrate``
converts it; the migration is idempotent and resumable, and afterwards every study
is found, by every field, and the history is intact."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from mintstore.adapters.filesystem import FileStore
from mintstore.errors import ConfigurationError
from mintstore.store import Actor, SearchQuery, StoreConfig, StudyStore, migration
from mintstore.store.index_options import IndexOptions
from mintstore.store.layout import SEQ_PREFIX, legacy_seq_key, log_key, seq_key, study_key
from tests.part10_builder import part10_bytes, secondary_capture

ACTOR = Actor("old", None)
OldStore = tuple[Path, dict[str, str]]
CONFIG = StoreConfig(index=IndexOptions(background=False))
OLD_INDEX_FIELDS = (
    "study_uid",
    "version",
    "last_modified",
    "deleted",
    "patient_id",
    "patient_id_issuer",
    "accession_number",
    "accession_number_issuer",
    "modalities",
    "study_date",
    "study_time",
    "instances",
)


def _part10(study_uid: str, name: str, patient_id: str, accession: str) -> bytes:
    ds = secondary_capture(study_uid)
    ds.PatientName, ds.PatientID, ds.Modality = name, patient_id, "MR"
    ds.StudyDate, ds.AccessionNumber, ds.StudyDescription = "20240105", accession, "HEAD"
    return part10_bytes(ds)


def _ingest(store: StudyStore, body: bytes) -> None:
    with store.begin_ingest() as session:
        session.add_part10(io.BytesIO(body))
        session.commit(ACTOR)


def _old_record(data: bytes) -> bytes:
    """A commit record as 8776e24 wrote it: no writer/protocol, the old index row."""
    doc = json.loads(data)
    doc.pop("writer", None)
    doc.pop("protocol", None)
    doc["index"] = {k: v for k, v in doc["index"].items() if k in OLD_INDEX_FIELDS}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _to_old_layout(root: Path) -> int:
    """Rewrite a store's keys into the old layout; returns the number of entries."""
    entries = sorted((root / SEQ_PREFIX).glob("*/*.json"))
    for path in entries:
        doc = json.loads(path.read_bytes())
        doc.pop("writer", None)
        doc["commit"] = json.loads(_old_record(json.dumps(doc["commit"]).encode()))
        (root / SEQ_PREFIX / path.name).write_bytes(json.dumps(doc).encode())
        path.unlink()
        if not any(path.parent.iterdir()):
            path.parent.rmdir()
    for record in root.glob("studies/*/log/*.json"):
        record.write_bytes(_old_record(record.read_bytes()))
    index = root / "index"
    rows = []
    for path in sorted(index.glob("**/*")):
        if path.is_file():
            path.unlink()
    for record in root.glob("studies/*/log/*.json"):
        rows.append(json.loads(record.read_bytes())["index"])
    (index / "manifest").mkdir(parents=True, exist_ok=True)
    old = index / "manifest" / f"{len(entries):016d}.jsonl.gz"
    old.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    return len(entries)


@pytest.fixture
def old_store(tmp_path: Path) -> OldStore:
    root = tmp_path / "store"
    uids: dict[str, str] = {}
    with FileStore(root) as objects:
        store = StudyStore(objects, CONFIG)
        for n in range(12):
            uid = generate_uid()
            uids[f"P{n:02d}"] = uid
            _ingest(store, _part10(uid, f"Old^Patient{n:02d}", f"P{n:02d}", f"ACC{n:02d}"))
        _ingest(store, _part10(uids["P03"], "Old^Patient03", "P03", "ACC03"))  # a version 1
        store.delete(uids["P11"], ACTOR)
    assert _to_old_layout(root) == 14
    return root, uids


def _check_migrated(root: Path, uids: dict[str, str]) -> None:
    with FileStore(root) as objects:
        store = StudyStore(objects, CONFIG)
        found = {h.study_uid: h for h in store.search(SearchQuery(limit=100)).results}
        assert set(found) == {uid for pid, uid in uids.items() if pid != "P11"}
        hit = store.search(SearchQuery(patient_id="P03")).results[0]
        assert (hit.version, hit.patient_name, hit.study_description) == (
            1,
            "Old^Patient03",
            "HEAD",
        )
        assert hit.series == 2 and hit.instances == 2
        assert [
            h.study_uid for h in store.search(SearchQuery(accession_number="ACC07")).results
        ] == [uids["P07"]]
        changes = store.system_changes(limit=100)
        assert [c.sequence for c in changes.changes] == list(range(1, 15))
        # The log goes on from the old history: the next entry is 15.
        uid = generate_uid()
        _ingest(store, _part10(uid, "New^One", "NEW", "ACCNEW"))
        assert objects.exists(seq_key(15)) and not objects.exists(legacy_seq_key(15))
        assert [h.study_uid for h in store.search(SearchQuery(patient_id="NEW")).results] == [uid]
        assert list(objects.list("index/manifest/"))
        assert not any(k.key.endswith(".jsonl.gz") for k in objects.list("index/manifest/"))
        assert not any(k.key.count("/") == 2 for k in objects.list(SEQ_PREFIX))


def test_an_old_store_is_refused_with_the_command_named(old_store: OldStore) -> None:
    root, _ = old_store
    with FileStore(root) as objects, pytest.raises(ConfigurationError) as refused:
        StudyStore(objects, CONFIG)
    assert "mintstore migrate" in str(refused.value)


def test_migrate_command_converts_and_is_idempotent(old_store: OldStore) -> None:
    root, uids = old_store
    command = [sys.executable, "-m", "mintstore.cli", "migrate", "--store", root.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "14 change-log entries copied" in done.stdout
    assert "12 studies indexed (11 rows completed from metadata)" in done.stdout
    _check_migrated(root, uids)
    again = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert again.returncode == 0 and "nothing to migrate" in again.stdout, again.stdout


def test_an_interrupted_migration_resumes(
    old_store: OldStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, uids = old_store
    monkeypatch.setattr(migration, "BATCH", 4)
    real = migration._copy_one
    calls = {"n": 0}

    def dies_midway(objects: object, number: int) -> bool | None:
        calls["n"] += 1
        if number == 9:
            raise OSError("killed")
        return real(objects, number)  # type: ignore[arg-type]

    with FileStore(root) as objects:
        monkeypatch.setattr(migration, "_copy_one", dies_midway)
        with pytest.raises(OSError):
            migration.migrate(objects, CONFIG)
        with pytest.raises(ConfigurationError):
            StudyStore(objects, CONFIG)  # still refused: not finished
        monkeypatch.setattr(migration, "_copy_one", real)
        # Killed after the index was rebuilt, during the deletion of old keys.
        real_delete = migration._delete_old

        def stops(objects: object, last: int, report: object, log: object) -> None:
            objects.delete(legacy_seq_key(last))  # type: ignore[attr-defined]
            raise OSError("killed while deleting")

        monkeypatch.setattr(migration, "_delete_old", stops)
        with pytest.raises(OSError):
            migration.migrate(objects, CONFIG)
        monkeypatch.setattr(migration, "_delete_old", real_delete)
        report = migration.migrate(objects, CONFIG)
        assert report.old_keys_deleted == 15  # 14 entries (one already gone) + the manifest
    _check_migrated(root, uids)


def test_a_conflicting_entry_changes_nothing(old_store: OldStore) -> None:
    root, _ = old_store
    with FileStore(root) as objects:
        objects.put(seq_key(2), b'{"sequence": 2}')
        with pytest.raises(Exception, match="both layouts with different content"):
            migration.migrate(objects, CONFIG)
        assert objects.exists(legacy_seq_key(1)) and objects.exists(legacy_seq_key(14))
        assert objects.exists(log_key(study_key(_any_uid(root)), 0))


def _any_uid(root: Path) -> str:
    record = next(root.glob("studies/*/log/000000000000.json"))
    return str(json.loads(record.read_bytes())["study_uid"])
