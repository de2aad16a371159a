"""DuckDB, run in a process that never imports mintstore, answers like the search API.

It follows docs/index.md: read the newest manifest (JSON), query its base and
delta partitions (Parquet) plus the change-log entries after ``upto`` (JSON),
keep the highest version per study, drop deletions.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from mintstore.adapters.filesystem import FileStore
from mintstore.store import SearchQuery, StudyStore
from mintstore.store.records import IndexRow

from .rows import publish, synthetic_row
from .test_partitioned_index import SMALL, all_pages

DUCKDB_SCRIPT = r"""
import glob, json, os, sys
import duckdb

root = sys.argv[1]
queries = json.loads(sys.argv[2])
names = sorted(glob.glob(os.path.join(root, "index/manifest/*.json")))
manifest = json.load(open(names[-1]))
files = [os.path.join(root, "index/part", p["name"] + ".parquet")
         for p in manifest["base"] + manifest["deltas"]]
tail = []
number = manifest["upto"] + 1
while True:
    path = os.path.join(root, "changes/seq/%012d/%016d.json" % (number // 10000, number))
    if not os.path.exists(path):
        break
    tail.append(path)
    number += 1
con = duckdb.connect()
parts = ["SELECT study_uid, version, deleted, patient_id, patient_id_issuer, accession_number,"
         " modalities, study_date FROM read_parquet(%s)" % json.dumps(files).replace('"', "'")]
if tail:
    parts.append(
        "SELECT commit.index.study_uid, commit.index.version, commit.index.deleted,"
        " commit.index.patient_id, commit.index.patient_id_issuer,"
        " commit.index.accession_number, commit.index.modalities, commit.index.study_date"
        " FROM read_json_auto(%s)" % json.dumps(tail).replace('"', "'"))
con.execute(
    "CREATE VIEW rows AS SELECT * FROM (" + " UNION ALL BY NAME ".join(parts) + ")"
    " QUALIFY row_number() OVER (PARTITION BY study_uid ORDER BY version DESC) = 1")
con.execute("CREATE VIEW studies AS SELECT * FROM rows WHERE NOT deleted")
answers = []
for where in queries:
    sql = "SELECT study_uid FROM studies WHERE " + where + " ORDER BY study_uid"
    answers.append([r[0] for r in con.execute(sql).fetchall()])
assert not any(name.startswith("mintstore") for name in sys.modules)
print(json.dumps(answers))
"""


def test_duckdb_over_the_partitions_agrees_with_search(tmp_path: Path) -> None:
    objects = FileStore(tmp_path / "store")
    store = StudyStore(objects, SMALL)
    rng = random.Random(3)
    rows: list[IndexRow] = []
    for index in range(700):
        row = synthetic_row(index, rng)
        publish(store, row)
        rows.append(row)
        if index % 100 == 99:
            store.index_maintenance.compact_now()
    victim = rows[10]
    publish(store, IndexRow(victim.study_uid, 1, victim.last_modified, deleted=True))
    moved = replace(rows[20], version=1, patient_id="MOVED")
    publish(store, moved)
    probe = rows[400]
    cases = [
        ("TRUE", SearchQuery()),
        (f"patient_id = '{probe.patient_id}'", SearchQuery(patient_id=probe.patient_id)),
        ("patient_id = 'MOVED'", SearchQuery(patient_id="MOVED")),
        (
            f"accession_number = '{probe.accession_number}'",
            SearchQuery(accession_number=probe.accession_number),
        ),
        ("list_contains(modalities, 'MR')", SearchQuery(modalities_in_study=("MR",))),
        (
            "study_date BETWEEN '20020101' AND '20020131'",
            SearchQuery(min_study_date="20020101", max_study_date="20020131"),
        ),
        (
            "patient_id_issuer = 'HOSP-A' AND list_contains(modalities, 'CT')",
            SearchQuery(patient_id_issuer="HOSP-A", modalities_in_study=("CT",)),
        ),
    ]
    script = tmp_path / "query.py"
    script.write_text(DUCKDB_SCRIPT)
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            str(script),
            str(tmp_path / "store"),
            json.dumps([w for w, _ in cases]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
    )
    answers = json.loads(done.stdout)
    fresh = StudyStore(FileStore(tmp_path / "store"), SMALL)
    for (where, query), answer in zip(cases, answers, strict=True):
        assert answer == all_pages(fresh, replace(query, limit=250)), where
        assert answer, where
    assert victim.study_uid not in answers[0] and moved.study_uid in answers[2]
