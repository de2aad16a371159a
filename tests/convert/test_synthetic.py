"""A 300-slice synthetic CT series: shared attributes are stored once."""

from __future__ import annotations

from pathlib import Path

from mintstore.convert import StudyBuilder, instance_to_dataset, read_part10
from mintstore.convert.compare import dataset_differences
from mintstore.synthetic import write_ct_series

PER_SLICE = {
    0x00020001,  # File Meta Information Version (OB: never normalized)
    0x00020003,  # Media Storage SOP Instance UID
    0x00080018,  # SOP Instance UID
    0x00080032,  # Acquisition Time
    0x00080033,  # Content Time
    0x00200013,  # Instance Number
    0x00200032,  # Image Position (Patient)
    0x00201041,  # Slice Location
    0x7FE00010,  # Pixel Data
}


def test_300_slices_normalize_every_shared_attribute(tmp_path: Path) -> None:
    written = write_ct_series(tmp_path, 300, seed=7)
    assert len(written.paths) == 300
    builder = StudyBuilder()
    sizes: dict[int, int] = {}
    for path in written.paths:
        for bid, content in builder.add_part10(path):
            sizes[bid] = len(content)
    study = builder.study
    assert study.study_instance_uid == written.study_instance_uid
    (series,) = study.series.values()
    assert len(series.instances) == 300
    assert sizes == {bid: 512 * 512 * 2 for bid in range(300)}

    # every attribute appears at exactly one level, per-slice ones only per instance
    for instance in series.instances.values():
        assert set(instance.attributes) == PER_SLICE
    shared = [set(study.attributes), set(series.attributes), set(series.normalized_attributes)]
    assert all(not (a & b) for i, a in enumerate(shared) for b in shared[i + 1 :])
    assert 0x00100010 in study.attributes  # Patient Name
    assert 0x00080060 in series.attributes  # Modality
    assert 0x00280010 in series.normalized_attributes  # Rows
    assert 0x00081032 in study.attributes  # a sequence placed by the dictionary

    # and every slice still comes back whole
    items = {}
    for check in (0, 149, 299):
        path = written.paths[check]
        original = read_part10(path)
        pixel = series.instances[written.sop_instance_uids[check]].attributes[0x7FE00010]
        assert pixel.bid is not None
        items[pixel.bid] = original.PixelData
        rebuilt = instance_to_dataset(
            study, written.series_instance_uid, written.sop_instance_uids[check], items.__getitem__
        )
        assert dataset_differences(original, rebuilt) == []
