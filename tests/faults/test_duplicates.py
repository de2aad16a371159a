"""One duplicate-instance policy on every write path of the engine.

Identical content under a stored SOP Instance UID is a no-op success;
different content is refused with a reason (``reject``, the default) or
committed as a new version with the old one kept in history (``replace``).
Paths: Part-10 ingest (POST /studies/create, STOW, C-STORE) and the MINT
full-study merge (RI /jobs/updatestudy and POST /studies/create on a stored
study). The HTTP answers are checked in test_policies_http.py.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pydicom
import pytest

from mintstore.adapters.memory import MemoryStore
from mintstore.convert import StudyBuilder
from mintstore.errors import ConfigurationError, DuplicateInstance
from mintstore.model import Study
from mintstore.store import Actor, StoreConfig, StudyStore
from mintstore.synthetic import SyntheticSeries, write_ct_series

ACTOR = Actor("tester", None)
_names = itertools.count()


def _store(policy: str) -> StudyStore:
    return StudyStore(MemoryStore(f"dups-{next(_names)}"), StoreConfig(duplicates=policy))


def _series(tmp_path: Path) -> SyntheticSeries:
    return write_ct_series(tmp_path / "series", 2, rows=16, columns=16, seed=7)


def _changed(path: Path, *, pixels: bool) -> bytes:
    dataset = pydicom.dcmread(path)
    if pixels:
        data = bytearray(dataset.PixelData)
        data[0] ^= 0xFF
        dataset.PixelData = bytes(data)
    else:
        dataset.SeriesDescription = "CHANGED"
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _ingest(store: StudyStore, blobs: list[bytes]) -> tuple[int, bool]:
    with store.begin_ingest() as session:
        for blob in blobs:
            session.add_part10(io.BytesIO(blob))
        [result] = session.commit(ACTOR)
    return result.version, result.changed


def _pixels(
    store: StudyStore, series: SyntheticSeries, sop: str, version: int | None = None
) -> bytes:
    out = io.BytesIO()
    if version is None:
        store.instance_part10(series.study_instance_uid, series.series_instance_uid, sop, out)
        return bytes(pydicom.dcmread(io.BytesIO(out.getvalue())).PixelData)
    metadata = store.metadata(series.study_instance_uid, version)
    [instance_series] = metadata.series.values()
    attribute = instance_series.instances[sop].attributes.get(0x7FE00010)
    assert attribute is not None and attribute.bid is not None
    with store.open_item(series.study_instance_uid, attribute.bid, version) as reader:
        return reader.read()


@pytest.mark.parametrize("pixels", [True, False], ids=["pixels", "attribute"])
def test_part10_changed_instance_is_refused_with_the_reason(tmp_path: Path, pixels: bool) -> None:
    series = _series(tmp_path)
    store = _store("reject")
    originals = [path.read_bytes() for path in series.paths]
    assert _ingest(store, originals) == (0, True)
    assert _ingest(store, originals[:1]) == (0, False)  # identical: a no-op success
    with pytest.raises(DuplicateInstance) as refused:
        _ingest(store, [_changed(series.paths[0], pixels=pixels)])
    assert refused.value.reason is not None
    assert ("binary items" if pixels else "attributes") in refused.value.reason
    assert series.sop_instance_uids[0] in str(refused.value)
    assert store.study_info(series.study_instance_uid).version == 0  # nothing changed
    assert _pixels(store, series, series.sop_instance_uids[0]) == bytes(
        pydicom.dcmread(series.paths[0]).PixelData
    )


def test_part10_changed_instance_replaces_under_replace(tmp_path: Path) -> None:
    series = _series(tmp_path)
    store = _store("replace")
    sop = series.sop_instance_uids[0]
    _ingest(store, [path.read_bytes() for path in series.paths])
    changed = _changed(series.paths[0], pixels=True)
    assert _ingest(store, [changed]) == (1, True)
    assert _ingest(store, [changed]) == (1, False)  # the replacement sent again: a no-op
    new_pixels = bytes(pydicom.dcmread(io.BytesIO(changed)).PixelData)
    old_pixels = bytes(pydicom.dcmread(series.paths[0]).PixelData)
    assert _pixels(store, series, sop) == new_pixels
    assert _pixels(store, series, sop, version=0) == old_pixels  # history keeps the old one
    assert store.metadata(series.study_instance_uid).instance_count == 2
    assert _pixels(store, series, series.sop_instance_uids[1]) == bytes(
        pydicom.dcmread(series.paths[1]).PixelData
    )


def _full_study(blobs: list[bytes]) -> tuple[Study, dict[int, Callable[[], BinaryIO]]]:
    builder = StudyBuilder()
    items: dict[int, Callable[[], BinaryIO]] = {}
    for blob in blobs:
        for bid, content in builder.add_part10(io.BytesIO(blob)):
            data = bytes(content)
            items[bid] = lambda data=data: io.BytesIO(data)  # type: ignore[misc]
    return builder.study, items


@pytest.mark.parametrize("send_items", [True, False])
def test_full_study_merge_follows_the_same_policy(tmp_path: Path, send_items: bool) -> None:
    series = _series(tmp_path)
    originals = [path.read_bytes() for path in series.paths]
    rejecting = _store("reject")
    _ingest(rejecting, originals[:1])
    # Unchanged stored instance + a new one: merged, whether or not items are re-sent.
    full, items = _full_study(originals)
    assert rejecting.merge_full_study(full, items, old_version=0, actor=ACTOR).version == 1
    changed = [_changed(series.paths[0], pixels=False), originals[1]]
    full, items = _full_study(changed)
    if not send_items:
        items = {}
    with pytest.raises(DuplicateInstance) as refused:
        rejecting.merge_full_study(full, items, old_version=1, actor=ACTOR)
    assert refused.value.reason is not None and "(0008,103e)" in refused.value.reason
    assert rejecting.study_info(series.study_instance_uid).version == 1


def test_full_study_merge_with_changed_pixels_replaces_under_replace(tmp_path: Path) -> None:
    series = _series(tmp_path)
    originals = [path.read_bytes() for path in series.paths]
    replacing = _store("replace")
    _ingest(replacing, originals)
    changed = _changed(series.paths[1], pixels=True)
    full, items = _full_study([originals[0], changed])
    result = replacing.merge_full_study(full, items, old_version=0, actor=ACTOR)
    assert (result.version, result.changed) == (1, True)
    sop = series.sop_instance_uids[1]
    assert _pixels(replacing, series, sop) == bytes(pydicom.dcmread(io.BytesIO(changed)).PixelData)
    assert _pixels(replacing, series, sop, version=0) == bytes(
        pydicom.dcmread(series.paths[1]).PixelData
    )
    again = replacing.merge_full_study(full, items, old_version=1, actor=ACTOR)
    assert (again.version, again.changed) == (1, False)


def test_an_unknown_policy_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        StoreConfig(duplicates="ignore")
