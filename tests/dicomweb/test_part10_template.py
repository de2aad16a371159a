"""WADO-RS instances sent from a Part-10 template must be the very bytes a rebuild makes,
for every kind of instance, and their binary items must still be checked on every send."""

from __future__ import annotations

import io
import secrets
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from mintstore.adapters import PutMode
from mintstore.adapters.memory import MemoryStore
from mintstore.errors import IntegrityError
from mintstore.store import Actor, StudyStore
from mintstore.store.layout import blob_key
from mintstore.synthetic import write_ct_series
from mintstore.web.app import create_app
from mintstore.web.config import ServerConfig
from mintstore.web.dicomweb import wado
from mintstore.web.dicomweb.reads import Snapshot, StoreReads
from mintstore.web.doc_cache import DocumentCache
from tests.store.helpers import ingest_paths

ACTOR = Actor("template", None)


def _ingest(paths: list[Path]) -> tuple[MemoryStore, Snapshot]:
    objects = MemoryStore(secrets.token_hex(8))
    store = StudyStore(objects)
    [result] = ingest_paths(store, paths, ACTOR)
    return objects, StoreReads(store).snapshot(result.study_uid)


def _instances(snapshot: Snapshot) -> list[tuple[str, str]]:
    return [
        (series.series_instance_uid, instance.sop_instance_uid)
        for series in snapshot.study.sorted_series()
        for instance in series.sorted_instances()
    ]


def _both(snapshot: Snapshot, cache: DocumentCache, series: str, sop: str) -> tuple[bytes, bytes]:
    rebuilt = b"".join(wado.instance_part10(snapshot, series, sop, None))
    templated = b"".join(wado.instance_part10(snapshot, series, sop, None, cache))
    return rebuilt, templated


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "MR_small_bigendian.dcm"]
)
def test_templated_instances_equal_the_rebuild(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    shutil.copy(str(get_testdata_file(name)), path)
    _, snapshot = _ingest([path])
    cache = DocumentCache()
    [(series, sop)] = _instances(snapshot)
    for _ in range(2):  # the first call builds the template, the second uses it
        rebuilt, templated = _both(snapshot, cache, series, sop)
        assert templated == rebuilt


def test_a_ct_series_is_sent_from_templates(tmp_path: Path) -> None:
    _, snapshot = _ingest(write_ct_series(tmp_path, 3, rows=32, columns=32).paths)
    cache = DocumentCache()
    for series, sop in _instances(snapshot):
        rebuilt, first = _both(snapshot, cache, series, sop)
        second = b"".join(wado.instance_part10(snapshot, series, sop, None, cache))
        assert first == second == rebuilt
    assert len(cache._entries) == 3  # one template per instance, none empty
    assert all(cache._entries.values())


def test_native_pixel_data_that_looks_like_a_fragment_keeps_its_bytes(tmp_path: Path) -> None:
    # A lone frame starting with an item tag is kept whole as encapsulated data
    # by the rebuild, except in a native syntax, whose pixel data has a defined
    # length: the file must read back with the very pixels stored.
    [path] = write_ct_series(tmp_path, 1, rows=32, columns=32).paths
    dataset = pydicom.dcmread(path)
    pixels = bytearray(dataset.PixelData)
    pixels[:4] = b"\xfe\xff\x00\xe0"
    dataset.PixelData = bytes(pixels)
    dataset.save_as(path)
    _, snapshot = _ingest([path])
    cache = DocumentCache()
    [(series, sop)] = _instances(snapshot)
    for _ in range(2):
        rebuilt, templated = _both(snapshot, cache, series, sop)
        assert templated == rebuilt
        assert pydicom.dcmread(io.BytesIO(templated)).PixelData == bytes(pixels)


def test_a_whole_study_is_sent_with_its_length(tmp_path: Path) -> None:
    paths = write_ct_series(tmp_path, 3, rows=32, columns=32).paths
    store = tmp_path / "store"
    store.mkdir()
    app = create_app(ServerConfig(store_url=store.as_uri()))
    client = app.test_client()
    [result] = ingest_paths(app.extensions["mintstore.store"], paths, ACTOR)
    accept = {"Accept": 'multipart/related; type="application/dicom"'}
    for _ in range(2):  # templates built, then used
        response = client.get(f"/dicom-web/studies/{result.study_uid}", headers=accept)
        assert response.status_code == 200
        assert response.content_length == len(response.data)
        boundary = response.mimetype_params["boundary"]
        parts = response.data.split(b"--" + boundary.encode())[1:-1]
        instances = [
            pydicom.dcmread(io.BytesIO(part.split(b"\r\n\r\n", 1)[1][:-2])) for part in parts
        ]
        originals = [pydicom.dcmread(path) for path in paths]
        assert sorted(ds.SOPInstanceUID for ds in instances) == sorted(
            ds.SOPInstanceUID for ds in originals
        )
        by_uid = {ds.SOPInstanceUID: ds for ds in originals}
        assert all(ds.PixelData == by_uid[ds.SOPInstanceUID].PixelData for ds in instances)


def test_a_corrupted_item_is_refused_on_the_template_path(tmp_path: Path) -> None:
    objects, snapshot = _ingest(write_ct_series(tmp_path, 1, rows=32, columns=32).paths)
    cache = DocumentCache()
    [(series, sop)] = _instances(snapshot)
    wado.instance_part10(snapshot, series, sop, None, cache)  # template built, item checked
    digest = snapshot.handle.item_digest(snapshot.handle.item_ids()[0])
    data = bytearray(objects.get_bytes(blob_key(digest)))
    data[len(data) // 2] ^= 0x01
    objects.put(blob_key(digest), bytes(data), mode=PutMode.OVERWRITE)
    with pytest.raises(IntegrityError):
        wado.instance_part10(snapshot, series, sop, None, cache)
