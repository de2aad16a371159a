"""The RI's update deltas applied to the RI's study, checked attribute by attribute.

Base study: the RI's own stored form (metadata.xml + binaryitems/0..3.dat,
pre-1.0 dialect read by mintstore.formats.legacy), uploaded as MINT; and our
conversion of the RI's four DICOM files. Every attribute a delta sets must
be there with the delta's value (binary item ids shifted above every id the
study ever used), every excluded one gone, and everything the delta does not
mention unchanged.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from mintstore.formats.legacy import read_legacy
from mintstore.model import Attributes, Study
from mintstore.store import Actor, StudyStore

SHARED = Path(os.environ.get("MINTSTORE_SHARED", "/work/shared"))
if not SHARED.exists():
    SHARED = Path(__file__).resolve().parents[3] / "shared"
RI = SHARED / "mint-ri-testdata"
RI_STUDY = RI / "MINT" / "7cc45edf-d5a6-4264-b8ae-1d24d857f04b" / "DICOM"
ACTOR = Actor("ri", None)


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


def _load_base(store: StudyStore, source: str) -> Study:
    with store.begin_ingest() as session:
        if source == "ri-mint":
            study = read_legacy((RI_STUDY / "metadata.xml").read_bytes())
            items = {int(p.stem): _opener(p) for p in (RI_STUDY / "binaryitems").glob("*.dat")}
            session.add_mint(study, items)
        else:
            for path in sorted((RI / "DICOM").glob("*.dcm")):
                with path.open("rb") as stream:
                    session.add_part10(stream)
        [result] = session.commit(ACTOR)
    assert result.version == 0
    return store.metadata(result.study_uid)


def _check_set(before: Attributes, delta: Attributes, after: Attributes, shift: int) -> None:
    for tag, old in before.items():
        if tag not in delta:
            assert after[tag] == old, f"{tag:08x} changed though the delta does not name it"
    for tag, change in delta.items():
        if change.exclude:
            assert tag not in after, f"{tag:08x} should have been removed"
        else:
            expected = copy.deepcopy(change)
            if expected.bid is not None:
                expected.bid += shift
            assert after[tag] == expected, f"{tag:08x} not replaced"


@pytest.mark.parametrize("source", ["ri-mint", "converted"])
@pytest.mark.parametrize("size", ["small", "medium", "massive"])
def test_ri_delta(store: StudyStore, source: str, size: str) -> None:
    base = _load_base(store, source)
    uid = base.study_instance_uid
    delta = read_legacy((RI / "MINT" / f"update_{size}_metadata.xml").read_bytes())
    assert delta.study_instance_uid == uid
    pixel = RI_STUDY / "binaryitems" / "2.dat"
    items = {bid: _opener(pixel) for bid in delta.referenced_bids()}
    result = store.update(uid, delta, items, old_version=0, actor=ACTOR)
    assert result.version == 1
    after = store.metadata(uid)
    shift = max(base.referenced_bids()) + 1  # RI: new bids above every existing bid
    _check_set(base.attributes, delta.attributes, after.attributes, shift)
    for series_uid, series in base.series.items():
        change = delta.series.get(series_uid)
        if change is not None and change.exclude:
            assert series_uid not in after.series
            continue
        now = after.series[series_uid]
        if change is None:
            assert now == series
            continue
        _check_set(series.attributes, change.attributes, now.attributes, shift)
        _check_set(
            series.normalized_attributes,
            change.normalized_attributes,
            now.normalized_attributes,
            shift,
        )
        for sop_uid, instance in series.instances.items():
            instance_change = change.instances.get(sop_uid)
            if instance_change is not None and instance_change.exclude:
                assert sop_uid not in now.instances
            elif instance_change is None:
                assert now.instances[sop_uid] == instance
            else:
                _check_set(
                    instance.attributes,
                    instance_change.attributes,
                    now.instances[sop_uid].attributes,
                    shift,
                )
    # The items the new version references are exactly what it can serve.
    assert set(store.item_ids(uid)) == after.referenced_bids()
    for bid in delta.referenced_bids():
        with store.open_item(uid, bid + shift) as reader:
            assert reader.read() == pixel.read_bytes()
    # The change log and payload say what was uploaded.
    assert [c.operation for c in store.study_changes(uid)] == ["CREATE", "UPDATE"]
    payload = store.change_payload(uid, 1)
    assert payload.attributes.keys() == delta.attributes.keys()
    assert store.metadata(uid, version=0) == _reversioned(base, 0)


def _reversioned(study: Study, version: int) -> Study:
    result = copy.deepcopy(study)
    result.version = version
    return result
