"""The builder's memo of converted elements never lets a value leak between instances.

Instances of a series share most raw elements byte for byte, and the builder
copies what an identical element became instead of converting it again. These
tests pin down what that must never change: every instance keeps its own
values, an edit to one instance's attribute (a sequence item's included) is
not seen by any other instance nor by later conversions, and elements that
become binary items keep their own bids.
"""

from __future__ import annotations

import io

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ImplicitVRLittleEndian

from mintstore.convert import StudyBuilder
from mintstore.convert.extract import ConversionMemo, extract_dataset
from mintstore.convert.normalize import effective_attributes
from mintstore.model import Attribute, Attributes
from tests.convert.helpers import SERIES_A, assert_rebuilds, build, instance

SOP_1 = "1.2.826.0.1.3680043.2.1125.10.1"
SOP_2 = "1.2.826.0.1.3680043.2.1125.10.2"
SOP_3 = "1.2.826.0.1.3680043.2.1125.10.3"
IMAGE_COMMENTS = 0x00204000
REFERENCED_IMAGES = 0x00081140
REFERENCED_SOP_INSTANCE = 0x00081155
PATIENT_NAME = 0x00100010
SMALLEST_PIXEL_VALUE = 0x00280106


def _reference(sop: str) -> list[Dataset]:
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = sop
    return [item]


def _effective(builder: StudyBuilder, sop: str) -> Attributes:
    series = builder.study.series[SERIES_A]
    return effective_attributes(builder.study, series, series.instances[sop])


def test_instances_differing_in_one_element_keep_their_own_values() -> None:
    first = instance(SOP_1, ImageComments="FIRST")
    second = instance(SOP_2, ImageComments="SECOND")
    third = instance(SOP_3, ImageComments="FIRST")
    builder, items = build([first, second, third])
    assert _effective(builder, SOP_1)[IMAGE_COMMENTS].val == "FIRST"
    assert _effective(builder, SOP_2)[IMAGE_COMMENTS].val == "SECOND"
    assert _effective(builder, SOP_3)[IMAGE_COMMENTS].val == "FIRST"
    assert_rebuilds(builder, items, [first, second, third])


def test_sequences_differing_in_one_item_value_keep_their_own_items() -> None:
    first = instance(SOP_1, ReferencedImageSequence=_reference("1.2.3.1"))
    second = instance(SOP_2, ReferencedImageSequence=_reference("1.2.3.2"))
    builder, items = build([first, second])
    for sop, referenced in ((SOP_1, "1.2.3.1"), (SOP_2, "1.2.3.2")):
        sequence = _effective(builder, sop)[REFERENCED_IMAGES]
        assert sequence.items is not None
        assert sequence.items[0].attributes[REFERENCED_SOP_INSTANCE].val == referenced
    assert_rebuilds(builder, items, [first, second])


def test_an_edit_to_a_reused_sequence_item_stays_in_its_instance() -> None:
    memo = ConversionMemo()
    same = _reference("1.2.3.9")
    first = extract_dataset(instance(SOP_1, ReferencedImageSequence=same), 0, memo)
    second = extract_dataset(instance(SOP_2, ReferencedImageSequence=same), 0, memo)
    assert len(memo) > 0
    one, two = first.attributes[REFERENCED_IMAGES], second.attributes[REFERENCED_IMAGES]
    assert one == two and one is not two
    # edit the instance that reused the conversion, then the one that made it
    reference = _reference("1.2.3.9")
    for edited in (second, first):
        sequence = edited.attributes[REFERENCED_IMAGES]
        assert sequence.items is not None
        sequence.items[0].attributes[REFERENCED_SOP_INSTANCE].val = "9.9.9"
        sequence.items.append(sequence.items[0])
        edited.attributes[PATIENT_NAME].val = "EDITED^NAME"
        # neither the other instance nor the remembered conversion sees the edit
        later = extract_dataset(instance(SOP_3, ReferencedImageSequence=reference), 0, memo)
        for unedited in (later, first if edited is second else None):
            if unedited is None:
                continue
            kept = unedited.attributes[REFERENCED_IMAGES]
            assert kept.items is not None and len(kept.items) == 1
            assert kept.items[0].attributes[REFERENCED_SOP_INSTANCE].val == "1.2.3.9"
            assert unedited.attributes[PATIENT_NAME].val == "DOE^JANE"


def test_identical_large_binary_values_still_get_their_own_items() -> None:
    large = bytes(range(256)) * 4  # past the inline limit: a binary item
    first = instance(SOP_1, RedPaletteColorLookupTableData=large)
    second = instance(SOP_2, RedPaletteColorLookupTableData=large)
    builder, items = build([first, second])
    tag = 0x00281201
    bids = [_effective(builder, sop)[tag].bid for sop in (SOP_1, SOP_2)]
    assert None not in bids and bids[0] != bids[1]
    assert items[bids[0]] == items[bids[1]] == large  # type: ignore[index]
    assert_rebuilds(builder, items, [first, second])


def test_a_memo_shared_across_builders_gives_the_same_study() -> None:
    datasets = [
        instance(SOP_1, ImageComments="A", ReferencedImageSequence=_reference("1.2.3.1")),
        instance(SOP_2, ImageComments="B", ReferencedImageSequence=_reference("1.2.3.1")),
    ]
    shared = ConversionMemo()
    warmed = StudyBuilder(memo=shared)
    for ds in datasets:
        warmed.add_dataset(ds)
    again = StudyBuilder(memo=shared)
    for ds in datasets:
        again.add_dataset(ds)
    fresh, _ = build(datasets)
    assert again.study == fresh.study


def _implicit(sop: str, pixel_representation: int, smallest: int) -> Dataset:
    """An implicit-VR instance whose (0028,0106) VR depends on PixelRepresentation."""
    ds = instance(sop)
    ds.PixelRepresentation = pixel_representation
    ds.SmallestImagePixelValue = smallest
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    out.seek(0)
    return dcmread(out)


def test_equal_bytes_read_in_a_different_context_are_converted_again() -> None:
    unsigned = _implicit(SOP_1, 0, 65535)
    signed = _implicit(SOP_2, 1, -1)
    raw = [ds.get_item(SMALLEST_PIXEL_VALUE).value for ds in (unsigned, signed)]
    assert raw == [b"\xff\xff", b"\xff\xff"]  # the same bytes, US in one, SS in the other
    builder, items = build([unsigned, signed])
    values = [_effective(builder, sop)[SMALLEST_PIXEL_VALUE] for sop in (SOP_1, SOP_2)]
    assert [(v.vr, v.val) for v in values] == [("US", "65535"), ("SS", "-1")]
    assert_rebuilds(builder, items, [unsigned, signed])


def test_the_memo_stays_within_its_bounds() -> None:
    memo = ConversionMemo(capacity=3, max_bytes=10)
    for index in range(5):
        key = (index, "LO", 4, b"abcd", False, True, ("iso8859",))
        memo.remember(key, Attribute(index, "LO", val="abcd"))
        assert len(memo) <= 2  # 3 values of 4 bytes would pass 10 bytes
    found = memo.get((4, "LO", 4, b"abcd", False, True, ("iso8859",)))
    assert found == Attribute(4, "LO", val="abcd")
