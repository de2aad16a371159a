"""Property test: any mix of shared, differing and missing values, any arrival
order, any split between an existing study and a continuing builder, is
lossless, and the normalized sets stay exactly what the RI algorithm hoists."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from mintstore.convert import StudyBuilder
from mintstore.dictionary import DEFAULT
from mintstore.model import NOT_NORMALIZED_VRS
from tests.convert.helpers import SERIES_A, SERIES_B, assert_rebuilds, instance

VARIED = [
    "PatientName",
    "PatientBirthDate",
    "SeriesNumber",
    "Manufacturer",
    "SliceThickness",
    "ImageComments",
]
CHOICES = {
    "PatientName": [None, "A^B", "C^D"],
    "PatientBirthDate": [None, "19700101", "19800101"],
    "SeriesNumber": [None, "1", "2"],
    "Manufacturer": [None, "ACME", "OTHER"],
    "SliceThickness": [None, "1.0", "2.0"],
    "ImageComments": [None, "x", "y"],
}

instance_spec = st.tuples(
    st.sampled_from([SERIES_A, SERIES_B]),
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CHOICES.items()}),
)


@settings(max_examples=60, deadline=None)
@given(specs=st.lists(instance_spec, min_size=1, max_size=6), split=st.integers(0, 6))
def test_any_mix_is_lossless_and_maximally_normalized(
    specs: list[tuple[str, dict[str, str | None]]], split: int
) -> None:
    originals: list[Dataset] = [
        instance(f"1.2.3.{n + 1}", series=series, **values)
        for n, (series, values) in enumerate(specs)
    ]
    first = StudyBuilder()
    items: dict[int, bytes] = {}
    for ds in originals[:split]:
        items.update((b, bytes(c)) for b, c in first.add_dataset(ds))
    builder = (
        StudyBuilder(existing=first.study, next_bid=first.next_bid)
        if split and originals[:split]
        else first
    )
    for ds in originals[split:]:
        items.update((b, bytes(c)) for b, c in builder.add_dataset(ds))
    assert_rebuilds(builder, items, originals)

    study = builder.study
    assert all(DEFAULT.placement(tag) == "study" for tag in study.attributes)
    for series in study.series.values():
        assert all(DEFAULT.placement(tag) == "series" for tag in series.attributes)
        instances = list(series.instances.values())
        if len(instances) == 1:
            assert series.normalized_attributes == {}
            continue
        for tag in series.normalized_attributes:
            assert all(tag not in i.attributes for i in instances)
        for tag, attribute in instances[0].attributes.items():
            if attribute.vr in NOT_NORMALIZED_VRS:
                continue
            # maximal: nothing equal in every instance is left at instance level
            assert not all(i.attributes.get(tag) == attribute for i in instances[1:]), f"{tag:08x}"
