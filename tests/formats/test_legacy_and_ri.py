"""The RI's own samples: the pre-1.0 dialect reader and our formats on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mintstore import formats
from mintstore.errors import InvalidMetadata
from mintstore.formats.legacy import read_legacy
from mintstore.model import PIXEL_DATA_TAG
from tests.shared_data import ri_testdata

from .test_roundtrip import assert_identities

RI_STUDY = "MINT/7cc45edf-d5a6-4264-b8ae-1d24d857f04b/DICOM/metadata.xml"
READABLE = [
    RI_STUDY,
    "MINT/metadata.1.xml",
    "MINT/update_small_metadata.xml",
    "MINT/update_medium_metadata.xml",
    "MINT/update_massive_metadata.xml",
    "DICOM_MINT_SQ/metadata.xml",
]


def sample(name: str) -> bytes:
    return (ri_testdata() / name).read_bytes()


def test_every_ri_sample_is_listed() -> None:
    found = {
        str(path.relative_to(ri_testdata()))
        for path in ri_testdata().rglob("*.xml")
        if path.name != "DICOM-type-dictionary.xml"
    }
    assert found == set(READABLE) | {"MINT/metadata.2.xml"}


@pytest.mark.parametrize("name", READABLE)
def test_ri_samples_round_trip_through_every_format(name: str) -> None:
    study = read_legacy(sample(name))
    assert_identities(study)
    # decode() recognizes the old dialect by its root element as well.
    assert formats.decode(sample(name), "xml") == study


def test_ri_study_is_read_completely() -> None:
    study = read_legacy(sample(RI_STUDY))
    assert study.study_instance_uid == "1.2.392.200036.9116.2.2.2.1762893313.1029997326.945873"
    assert len(study.attributes) == 12 and study.instance_count == 4
    assert study.attributes[0x00100010].val == "20 phase"
    assert study.attributes[0x00100030].val is None  # <Attr tag="00100030" vr="DA"/>
    bids = []
    for series in study.series.values():
        assert len(series.normalized_attributes) == 51  # counted in the file by hand
        for instance in series.instances.values():
            assert instance.transfer_syntax_uid == "1.2.840.10008.1.2.1"
            assert instance.attributes[0x00080018].val == instance.sop_instance_uid
            bids.append(instance.attributes[PIXEL_DATA_TAG].bid)
    assert sorted(bids) == [0, 1, 2, 3]  # type: ignore[type-var]


def test_sequence_sample_keeps_nesting_and_inline_bytes() -> None:
    study = read_legacy(sample("DICOM_MINT_SQ/metadata.xml"))
    (series,) = study.series.values()
    (instance,) = series.instances.values()
    referenced = instance.attributes[0x00081115]
    assert referenced.items is not None
    assert len(referenced.items[0].attributes[0x00081140].items or []) > 5
    assert study.attributes[0x00080090].val is None  # val="" is an empty value
    private = [a for a in study.iter_attributes() if a.tag == 0x00111011]
    assert private and all(a.data == b"" for a in private)  # bytes="" stays empty bytes


def test_oldest_sample_without_namespace_or_sop_uid_attribute() -> None:
    study = read_legacy(sample("MINT/metadata.1.xml"))
    instances = [i for s in study.series.values() for i in s.instances.values()]
    assert len(instances) == 4
    assert all(i.transfer_syntax_uid == "1.2.840.10008.1.2" for i in instances)  # xfer=
    assert all(i.sop_instance_uid.startswith("1.2.392.200036") for i in instances)


def test_sample_with_duplicate_instances_is_refused_not_merged() -> None:
    with pytest.raises(InvalidMetadata, match="appears twice"):
        read_legacy(sample("MINT/metadata.2.xml"))


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_update_deltas_keep_their_exclude_markers_in_every_format(fmt: str) -> None:
    small = formats.decode(formats.encode(read_legacy(sample(READABLE[2])), fmt), fmt)
    assert [tag for tag, a in sorted(small.attributes.items()) if a.exclude] == [
        0x00100040,
        0x00101010,
    ]
    assert small.series == {}
    medium = formats.decode(formats.encode(read_legacy(sample(READABLE[3])), fmt), fmt)
    (series,) = medium.series.values()
    assert series.attributes[0x00400253].exclude
    assert [i.exclude for i in series.instances.values()] == [True]
    massive = formats.decode(formats.encode(read_legacy(sample(READABLE[4])), fmt), fmt)
    removed = {uid for uid, s in massive.series.items() if s.exclude}
    assert removed == {"1.2.392.200036.9116.2.2.2.1762893313.1029997326.946350"}
    kept = massive.series["1.2.392.200036.9116.2.2.2.1762893313.1029997331.21983"]
    assert kept.normalized_attributes[0x00080008].exclude
    assert not kept.normalized_attributes[0x00080080].exclude
    changed = kept.instances["1.2.392.200036.9116.2.2.2.1762660474.1026398699.181490"]
    assert changed.attributes[0x00200013].exclude


def test_legacy_reader_refuses_the_new_dialect() -> None:
    from .studies import rich_study

    with pytest.raises(InvalidMetadata, match=r"pre-1\.0"):
        read_legacy(formats.encode(rich_study(), "xml"))


def test_shared_dir_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "mint-ri-testdata").mkdir()
    monkeypatch.setenv("MINTSTORE_SHARED", str(tmp_path))
    assert ri_testdata() == tmp_path / "mint-ri-testdata"
