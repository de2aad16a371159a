"""Placement, lossless overrides, RI normalization and renormalization on append."""

from __future__ import annotations

import itertools
from copy import deepcopy

import pytest

from mintstore.convert import StudyBuilder, instance_to_dataset
from mintstore.errors import DuplicateInstance, InvalidDicom
from tests.convert.helpers import SERIES_A, SERIES_B, assert_rebuilds, build, instance

MANUFACTURER = 0x00080070
PATIENT_NAME = 0x00100010
BIRTH_DATE = 0x00100030
SERIES_NUMBER = 0x00200011
INSTANCE_NUMBER = 0x00200013


def test_shared_values_are_stored_once_and_varying_ones_per_instance() -> None:
    originals = [instance(f"1.2.3.{i}") for i in range(1, 4)]
    builder, items = build(originals)
    study = builder.study
    series = study.series[SERIES_A]
    assert PATIENT_NAME in study.attributes
    assert SERIES_NUMBER in series.attributes
    assert MANUFACTURER in series.normalized_attributes
    assert all(INSTANCE_NUMBER in i.attributes for i in series.instances.values())
    assert all(MANUFACTURER not in i.attributes for i in series.instances.values())
    assert_rebuilds(builder, items, originals)


def test_a_differing_instance_pushes_a_normalized_attribute_back_down() -> None:
    originals = [
        instance("1.2.3.1"),
        instance("1.2.3.2"),
        instance("1.2.3.3", Manufacturer="OTHER"),
    ]
    builder, items = build(originals)
    series = builder.study.series[SERIES_A]
    assert MANUFACTURER not in series.normalized_attributes
    values = {uid: i.attributes[MANUFACTURER].val for uid, i in series.instances.items()}
    assert values == {"1.2.3.1": "ACME", "1.2.3.2": "ACME", "1.2.3.3": "OTHER"}
    assert_rebuilds(builder, items, originals)


def test_a_missing_attribute_pushes_a_normalized_attribute_back_down() -> None:
    originals = [instance("1.2.3.1"), instance("1.2.3.2"), instance("1.2.3.3", Manufacturer=None)]
    builder, items = build(originals)
    series = builder.study.series[SERIES_A]
    assert MANUFACTURER not in series.normalized_attributes
    assert MANUFACTURER not in series.instances["1.2.3.3"].attributes
    assert_rebuilds(builder, items, originals)


def test_study_level_values_are_lossless() -> None:
    originals = [
        instance("1.2.3.1"),
        instance("1.2.3.2", PatientName="DOE^JOHN"),
        instance("1.2.3.3", series=SERIES_B, PatientBirthDate=None),
    ]
    builder, items = build(originals)
    study = builder.study
    assert study.attributes[PATIENT_NAME].val == "DOE^JANE"
    assert BIRTH_DATE not in study.attributes  # one instance lacks it: pushed down
    assert study.series[SERIES_A].instances["1.2.3.2"].attributes[PATIENT_NAME].val == "DOE^JOHN"
    assert_rebuilds(builder, items, originals)


def test_series_level_values_are_lossless() -> None:
    originals = [
        instance("1.2.3.1"),
        instance("1.2.3.2", SeriesNumber="7"),
        instance("1.2.3.3", SeriesNumber=None),
    ]
    builder, items = build(originals)
    series = builder.study.series[SERIES_A]
    assert SERIES_NUMBER not in series.attributes
    assert_rebuilds(builder, items, originals)


def test_result_does_not_depend_on_arrival_order() -> None:
    originals = [
        instance("1.2.3.1"),
        instance("1.2.3.2", Manufacturer="OTHER"),
        instance("1.2.3.3", SliceThickness="2.0"),
        instance("1.2.3.4", PatientName="X^Y"),
    ]
    results = []
    for order in itertools.permutations(originals):
        builder, items = build(list(order))
        assert_rebuilds(builder, items, originals)
        series = builder.study.series[SERIES_A]
        results.append(sorted(series.normalized_attributes))
    assert all(r == results[0] for r in results)
    assert MANUFACTURER not in results[0]


def test_continuing_an_existing_study_equals_building_it_at_once() -> None:
    originals = [instance(f"1.2.3.{i}") for i in range(1, 4)] + [
        instance("1.2.3.9", Manufacturer="NEW")
    ]
    first, items = build(originals[:2])
    stored = deepcopy(first.study)
    builder = StudyBuilder(existing=stored, next_bid=first.next_bid)
    for ds in originals[2:]:
        new = builder.add_dataset(ds)
        assert [bid for bid, _ in new] == [builder.next_bid - len(new) + k for k in range(len(new))]
        items.update((bid, bytes(c)) for bid, c in new)
    assert stored == first.study  # the existing study object is not modified
    at_once, _ = build(originals)
    assert builder.study == at_once.study
    assert_rebuilds(builder, items, originals)


def test_identical_resend_is_recognized_and_changes_nothing() -> None:
    builder, items = build([instance("1.2.3.1"), instance("1.2.3.2")])
    before = deepcopy(builder.study)
    with pytest.raises(DuplicateInstance) as caught:
        builder.add_dataset(instance("1.2.3.2"))
    assert caught.value.identical_metadata
    assert [(bid, bytes(content)) for bid, content in caught.value.items] == [
        (bid, items[bid]) for bid, _ in caught.value.items
    ]
    assert len(caught.value.items) == 1
    assert builder.study == before


def test_conflicting_resend_is_recognized() -> None:
    builder, _ = build([instance("1.2.3.1"), instance("1.2.3.2")])
    with pytest.raises(DuplicateInstance) as caught:
        builder.add_dataset(instance("1.2.3.2", Manufacturer="OTHER"))
    assert not caught.value.identical_metadata
    assert caught.value.items == []


def test_an_instance_of_another_study_is_refused() -> None:
    builder, _ = build([instance("1.2.3.1")])
    with pytest.raises(InvalidDicom, match="belongs to study"):
        builder.add_dataset(instance("1.2.3.2", StudyInstanceUID="1.2.999"))


def test_rebuilt_datasets_are_fresh_and_do_not_leak() -> None:
    a = instance("1.2.3.1", ImageComments="only in A")
    b = instance("1.2.3.2")
    builder, items = build([a, b])
    rebuilt_a = instance_to_dataset(builder.study, SERIES_A, "1.2.3.1", items.__getitem__)
    rebuilt_a.PatientName = "CHANGED"
    rebuilt_b = instance_to_dataset(builder.study, SERIES_A, "1.2.3.2", items.__getitem__)
    assert "ImageComments" not in rebuilt_b
    assert rebuilt_b.PatientName == "DOE^JANE"


def test_an_in_memory_dataset_is_encoded_like_a_file() -> None:
    ds = instance("1.2.3.1")
    ds.PatientName = "EDITED^IN^MEMORY"  # a decoded element, not raw bytes
    builder, items = build([ds])
    assert builder.study.attributes[PATIENT_NAME].val == "EDITED^IN^MEMORY"
    assert_rebuilds(builder, items, [ds])


def test_study_uid_can_be_read_without_decoding_the_element() -> None:
    from mintstore.convert import study_instance_uid

    ds = instance("1.2.3.1")
    assert study_instance_uid(ds) == ds.StudyInstanceUID
    with pytest.raises(InvalidDicom):
        study_instance_uid(instance("1.2.3.1", StudyInstanceUID=None))
