"""Job expiry, the duplicate policy, the exclude scope and server-to-server copy,
through real server processes (issue 15).

Server ``a`` (tokens: admin, writer) is told the token for server ``b`` in a
``--copy-tokens`` file; ``b`` accepts only that token (write scope).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pydicom
import pytest

from mintstore import errors, formats
from mintstore.adapters.registry import open_store
from mintstore.client import MintClient
from mintstore.convert import StudyBuilder
from mintstore.model import Instance, Series, Study
from mintstore.store import StoreConfig, StudyStore
from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.testing.mint_server import ServerProcess

MINT = "{http://medical.nema.org/mint}"


@dataclass
class Servers:
    a: ServerProcess
    b: ServerProcess
    a_dir: Path
    b_dir: Path


def _tokens(path: Path, entries: list[tuple[str, str, list[str]]]) -> Path:
    document = {"tokens": [{"name": n, "token": t, "scopes": s} for n, t, s in entries]}
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("policies")
    a_dir, b_dir = root / "a-data", root / "b-data"
    a_dir.mkdir()
    b_dir.mkdir()
    b_tokens = _tokens(root / "b-tokens.json", [("copier", "b-secret", ["write"])])
    with ServerProcess(
        b_dir.as_uri(), options=["--tokens", str(b_tokens)], log_path=root / "b.log"
    ) as b:
        copy_tokens = root / "copy-tokens.json"
        copy_tokens.write_text(json.dumps({b.url: "b-secret"}))
        a_tokens = _tokens(
            root / "a-tokens.json",
            [("root", "a-admin", ["admin"]), ("pacs", "a-write", ["write"])],
        )
        options = ["--tokens", str(a_tokens), "--copy-tokens", str(copy_tokens)]
        with ServerProcess(a_dir.as_uri(), options=options, log_path=root / "a.log") as a:
            yield Servers(a, b, a_dir, b_dir)


@pytest.fixture
def writer(servers: Servers) -> Iterator[MintClient]:
    client = MintClient(servers.a.url, token="a-write")
    yield client
    client.close()


@pytest.fixture
def admin(servers: Servers) -> Iterator[MintClient]:
    client = MintClient(servers.a.url, token="a-admin")
    yield client
    client.close()


def _series(tmp_path: Path, slices: int = 3) -> SyntheticSeries:
    return write_ct_series(tmp_path / "series", slices, rows=16, columns=16)


def _field(boundary: str, name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


def _job(client: MintClient, route: str, fields: dict[str, str], study: Study | None,
         items: dict[int, bytes]) -> dict[str, str]:  # fmt: skip
    boundary = "policyboundary"
    body = b"".join(_field(boundary, k, v.encode()) for k, v in fields.items())
    if study is not None:
        body += _field(boundary, "metadata", formats.encode(study, "xml"), "metadata.xml")
    for bid, data in sorted(items.items()):
        body += _field(boundary, f"binary{bid}", data, f"binary{bid}.dat")
    body += f"--{boundary}--\r\n".encode()
    response = client.request(
        "POST",
        route,
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        ok=(303,),
    )
    response.read()
    return client.job_status(response.getheader("Location", ""))


def _item_source(items: dict[int, bytes]) -> list[tuple[int, int, Callable[[], io.BytesIO]]]:
    return [(bid, len(data), partial(io.BytesIO, data)) for bid, data in items.items()]


def _changed_attribute(path: Path) -> bytes:
    dataset = pydicom.dcmread(path)
    dataset.SeriesDescription = "CHANGED UNDER THE SAME UID"
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _full_study(blobs: list[bytes]) -> tuple[Study, dict[int, bytes]]:
    builder = StudyBuilder()
    items: dict[int, bytes] = {}
    for blob in blobs:
        for bid, content in builder.add_part10(io.BytesIO(blob)):
            items[bid] = bytes(content)
    return builder.study, items


def _gc(store_dir: Path, **environ: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mintstore.cli", "gc", "--store", store_dir.as_uri()],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, **environ},
    )
    return done.stdout


def test_job_records_expire_refused_ones_included(
    servers: Servers, writer: MintClient, tmp_path: Path
) -> None:
    refused = _job(writer, "/jobs/updatestudy", {"studyUUID": "1.2.3"}, None, {})
    assert refused["jobStatus"] == "FAILED" and "oldVersion" in refused["reason"]
    series = _series(tmp_path, 1)
    study, items = _full_study([series.paths[0].read_bytes()])
    done = _job(writer, "/jobs/createstudy", {}, study, items)
    assert done["jobStatus"] == "SUCCESS"
    records = sorted((servers.a_dir / "jobs").glob("*.json"))
    assert {p.stem for p in records} >= {refused["jobID"], done["jobID"]}
    assert "deleted 0 expired job records" in _gc(servers.a_dir)  # younger than 7 days
    assert writer.job_status(done["jobID"])["jobStatus"] == "SUCCESS"
    report = _gc(servers.a_dir, MINTSTORE_STORE_JOB_RETENTION="0")
    assert f"deleted {len(records)} expired job records" in report
    assert not list((servers.a_dir / "jobs").glob("*.json"))
    for job in (refused, done):
        with pytest.raises(errors.ItemNotFound):
            writer.job_status(job["jobID"])
    assert writer.study_version(series.study_instance_uid) == 0  # gc took only job records


def test_a_changed_instance_fails_on_every_http_write_path(
    writer: MintClient, tmp_path: Path
) -> None:
    series = _series(tmp_path, 2)
    [created] = writer.push_files(series.paths)
    uid = series.study_instance_uid
    changed = _changed_attribute(series.paths[0])
    # RI full-study update carrying the stored UID with other content: FAILED, with the reason.
    study, items = _full_study([changed, series.paths[1].read_bytes()])
    job = _job(writer, "/jobs/updatestudy", {"studyUUID": uid, "oldVersion": "0"}, study, items)
    assert job["jobStatus"] == "FAILED", job
    assert "different content" in job["reason"] and series.sop_instance_uids[0] in job["reason"]
    # The same through POST /studies/create, as Part 10 and as MINT: 400, the reason in the body.
    changed_file = tmp_path / "changed.dcm"
    changed_file.write_bytes(changed)
    with pytest.raises(errors.InvalidInput, match="different content"):
        writer.push_files([changed_file])
    with pytest.raises(errors.InvalidInput, match="different content"):
        writer.upload_mint(study, _item_source(items))
    assert writer.study_version(uid) == created.version == 0
    # Identical content is a no-op success on each path.
    assert writer.push_files(series.paths[:1])[0].changed is False
    same, same_items = _full_study([p.read_bytes() for p in series.paths])
    ok = _job(writer, "/jobs/updatestudy", {"studyUUID": uid, "oldVersion": "0"}, same, same_items)
    assert ok["jobStatus"] == "SUCCESS" and ok["version"] == "0"


def test_removing_series_or_instances_needs_admin(
    writer: MintClient, admin: MintClient, tmp_path: Path
) -> None:
    series = _series(tmp_path, 3)
    writer.push_files(series.paths)
    uid = series.study_instance_uid
    drop_instance = Study(uid)
    drop_instance.series[series.series_instance_uid] = part = Series(series.series_instance_uid)
    part.instances[series.sop_instance_uids[0]] = Instance(
        series.sop_instance_uids[0], exclude=True
    )
    with pytest.raises(errors.AccessDenied):
        writer.update(uid, drop_instance, old_version=0)
    drop_series = Study(uid)
    drop_series.series[series.series_instance_uid] = Series(
        series.series_instance_uid, exclude=True
    )
    with pytest.raises(errors.AccessDenied):
        writer.update(uid, drop_series, old_version=0)
    assert writer.study_version(uid) == 0 and writer.metadata(uid).instance_count == 3
    assert admin.update(uid, drop_instance, old_version=0) == 1
    assert writer.metadata(uid).instance_count == 2
    assert admin.update(uid, drop_series, old_version=1) == 2
    assert writer.metadata(uid).instance_count == 0


def _item_bytes(store_dir: Path, uid: str) -> int:
    store = StudyStore(open_store(store_dir.as_uri()), StoreConfig())
    try:
        return sum(size for _, size, _ in store.iter_items(uid))
    finally:
        store.close()


def test_copy_to_another_server_sends_only_what_it_lacks_with_the_token(
    servers: Servers, writer: MintClient, admin: MintClient, tmp_path: Path
) -> None:
    series = _series(tmp_path, 3)
    uid = series.study_instance_uid
    writer.push_files(series.paths[:2])
    first_bytes = _item_bytes(servers.a_dir, uid)
    report = admin.copy(uid, servers.b.url)
    assert (int(report["bytesSent"]), int(report["bytesSkipped"])) == (first_bytes, 0)
    writer.push_files(series.paths[2:])
    all_bytes = _item_bytes(servers.a_dir, uid)
    report = admin.copy(uid, servers.b.url)
    assert (int(report["bytesSent"]), int(report["bytesSkipped"])) == (
        all_bytes - first_bytes,
        first_bytes,
    )
    report = admin.copy(uid, servers.b.url)
    assert (int(report["bytesSent"]), int(report["bytesSkipped"])) == (0, all_bytes)
    target = MintClient(servers.b.url, token="b-secret")
    for sop, path in zip(series.sop_instance_uids, series.paths, strict=True):
        out = io.BytesIO()
        target.instance(uid, series.series_instance_uid, sop, out)
        assert pydicom.dcmread(io.BytesIO(out.getvalue())) == pydicom.dcmread(path)
    assert [c["operation"] for c in target.changelog(uid)] == ["CREATE", "UPDATE"]
    target.close()
    # A server without a configured token refuses the copy; the answer says so.
    unknown = servers.b.url.replace("127.0.0.1", "localhost")
    with pytest.raises(errors.StoreError, match=r"401|token"):
        admin.copy(uid, unknown)
    with pytest.raises(errors.AccessDenied):  # and copying needs admin here
        writer.copy(uid, servers.b.url)


def test_the_replace_policy_commits_a_changed_instance_as_a_new_version(tmp_path: Path) -> None:
    """``--store-duplicates replace``: the same engine policy, chosen in the configuration."""
    data = tmp_path / "replace-data"
    data.mkdir()
    options = ["--store-duplicates", "replace"]
    with ServerProcess(data.as_uri(), options=options, log_path=tmp_path / "s.log") as server:
        client = MintClient(server.url)
        series = _series(tmp_path, 2)
        uid, sop = series.study_instance_uid, series.sop_instance_uids[0]
        client.push_files(series.paths)
        changed = tmp_path / "changed.dcm"
        changed.write_bytes(_changed_attribute(series.paths[0]))
        [result] = client.push_files([changed])
        assert (result.version, result.changed) == (1, True)
        study, items = _full_study([series.paths[0].read_bytes(), series.paths[1].read_bytes()])
        fields = {"studyUUID": uid, "oldVersion": "1"}
        job = _job(client, "/jobs/updatestudy", fields, study, items)
        assert (job["jobStatus"], job["version"]) == ("SUCCESS", "2"), job
        descriptions = []
        for version in (0, 1, 2):
            metadata = client.metadata(uid, version=version)
            [part] = metadata.series.values()
            merged = {**metadata.attributes, **part.attributes, **part.normalized_attributes}
            merged.update(part.instances[sop].attributes)
            descriptions.append(merged[0x0008103E].val)
        assert descriptions[1] == "CHANGED UNDER THE SAME UID"
        assert descriptions[0] == descriptions[2] != descriptions[1]  # history keeps each one
        client.close()
