"""RI DICOM2MINT updates: the full study with new instances, merged."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

import pydicom
import pytest

from mintstore.convert import StudyBuilder
from mintstore.errors import VersionConflict
from mintstore.model import Study
from mintstore.store import Actor, StudyStore

from .test_ri_updates import RI

ACTOR = Actor("dicom2mint", None)
FILES = sorted((RI / "DICOM").glob("*.dcm"))


def _full_study() -> tuple[Study, dict[int, Callable[[], BinaryIO]]]:
    builder = StudyBuilder()
    items: dict[int, Callable[[], BinaryIO]] = {}
    for path in FILES:
        for bid, content in builder.add_part10(path):
            data = bytes(content)
            items[bid] = lambda data=data: io.BytesIO(data)  # type: ignore[misc]
    return builder.study, items


@pytest.mark.parametrize("send_all_items", [True, False])
def test_merge_full_study(store: StudyStore, send_all_items: bool) -> None:
    with store.begin_ingest() as session:
        for path in FILES[:2]:
            with path.open("rb") as stream:
                session.add_part10(stream)
        [created] = session.commit(ACTOR)
    full, items = _full_study()
    stored = {sop for s in store.metadata(created.study_uid).series.values() for sop in s.instances}
    if not send_all_items:
        wanted = {
            bid
            for s in full.series.values()
            for sop, instance in s.instances.items()
            if sop not in stored
            for attribute in instance.attributes.values()
            for bid in attribute.bids()
        }
        items = {bid: opener for bid, opener in items.items() if bid in wanted}
    with pytest.raises(VersionConflict):
        store.merge_full_study(full, items, old_version=5, actor=ACTOR)
    result = store.merge_full_study(full, items, old_version=0, actor=ACTOR)
    assert (result.version, result.changed) == (1, True)
    merged = store.metadata(created.study_uid)
    assert merged.instance_count == 4
    for path in FILES:
        original = pydicom.dcmread(path)
        out = io.BytesIO()
        store.instance_part10(
            created.study_uid, original.SeriesInstanceUID, original.SOPInstanceUID, out
        )
        assert pydicom.dcmread(io.BytesIO(out.getvalue())) == original
    again = store.merge_full_study(full, items, old_version=1, actor=ACTOR)
    assert (again.version, again.changed) == (1, False)
