"""Hypothesis strategies for valid study models (every value form, any text)."""

from __future__ import annotations

from hypothesis import strategies as st

from mintstore.model import Attribute, Attributes, Encapsulation, Instance, Item, Series, Study

TEXT_VRS = ["AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR"]
NUMBER_VRS = ["DS", "IS", "US", "SS", "UL", "SL", "UV", "SV", "AT"]
BINARY_VRS = ["OB", "OW", "OF", "OD", "OL", "OV", "UN"]

uids = st.from_regex(r"[1-9][0-9]{0,2}(\.[0-9]{1,6}){1,5}", fullmatch=True)
tags = st.integers(min_value=0, max_value=0xFFFFFFFF)
# Any text but lone surrogates (not Unicode; the model refuses them).
any_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30)
number_text = (
    st.lists(
        st.one_of(
            st.integers(-(2**70), 2**70).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
            st.sampled_from(["", "+1.5", " 2 ", "1E5", "-0", "0.000", "1e-05"]),
        ),
        min_size=1,
        max_size=4,
    )
    .map("\\".join)
    .filter(bool)
)
u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)
small_u32 = st.integers(min_value=0, max_value=100_000)


_encapsulations = st.builds(
    Encapsulation,
    offset_table=st.binary(max_size=16),
    frame_fragments=st.lists(st.lists(u32, min_size=1, max_size=3), max_size=3),
)
_vals = st.one_of(
    st.tuples(st.sampled_from(TEXT_VRS), st.none() | any_text),
    st.tuples(st.sampled_from(NUMBER_VRS), st.none() | number_text),
)


def _plain(pair: tuple[str, str | None], tag: int, data: bytes | None, exclude: bool) -> Attribute:
    return Attribute(tag, pair[0], val=pair[1], data=data, exclude=exclude)


_leaves = st.one_of(
    # text (with raw bytes beside it when the text is not exact)
    st.builds(_plain, _vals, tags, st.none() | st.binary(max_size=8), st.booleans()),
    # FL/FD: text plus raw little-endian bytes
    st.builds(
        Attribute,
        tag=tags,
        vr=st.sampled_from(["FL", "FD"]),
        val=st.none() | number_text,
        data=st.none() | st.binary(max_size=16),
    ),
    # inline binary
    st.builds(Attribute, tag=tags, vr=st.sampled_from(BINARY_VRS), data=st.binary(max_size=40)),
    # binary item reference
    st.builds(
        Attribute,
        tag=tags,
        vr=st.sampled_from(BINARY_VRS),
        bid=small_u32,
        bsize=st.none() | u32,
        framecount=st.none() | st.integers(2, 300),
        encapsulation=st.none() | _encapsulations,
        exclude=st.booleans(),
    ),
)


def _as_set(attributes: list[Attribute]) -> Attributes:
    return {attribute.tag: attribute for attribute in attributes}


def attribute_sets(depth: int = 2) -> st.SearchStrategy[Attributes]:
    attribute = _leaves
    if depth > 0:
        item = st.builds(Item, attributes=attribute_sets(depth - 1), undefined_length=st.booleans())
        sequence = st.builds(
            Attribute,
            tag=tags,
            vr=st.just("SQ"),
            items=st.lists(item, max_size=2),
            exclude=st.booleans(),
            undefined_length=st.booleans(),
        )
        attribute = st.one_of(_leaves, sequence)
    return st.lists(attribute, max_size=5, unique_by=lambda a: a.tag).map(_as_set)


def _instances() -> st.SearchStrategy[dict[str, Instance]]:
    instance = st.builds(
        Instance,
        sop_instance_uid=uids,
        transfer_syntax_uid=st.none() | uids,
        attributes=attribute_sets(1),
        exclude=st.booleans(),
        preamble=st.none() | st.binary(min_size=128, max_size=128),
    )
    return st.lists(instance, max_size=3, unique_by=lambda i: i.sop_instance_uid).map(
        lambda items: {i.sop_instance_uid: i for i in items}
    )


def _series() -> st.SearchStrategy[Series]:
    return st.builds(
        Series,
        series_instance_uid=uids,
        attributes=attribute_sets(1),
        normalized_attributes=attribute_sets(0),
        instances=_instances(),
        exclude=st.booleans(),
    )


studies = st.builds(
    Study,
    study_instance_uid=uids,
    type=st.sampled_from(["DICOM", "SR"]),
    version=st.none() | st.integers(0, 2**40),
    attributes=attribute_sets(2),
    series=st.lists(_series(), max_size=3, unique_by=lambda s: s.series_instance_uid).map(
        lambda items: {s.series_instance_uid: s for s in items}
    ),
)
