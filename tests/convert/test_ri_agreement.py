"""Our conversion of the RI's four CT files against the RI's own metadata.xml.

The RI's file is in the pre-1.0 dialect (StudyMeta, Attributes, Attr, ...);
the few lines of lxml below read just what this comparison needs. Known,
deliberate differences from the RI:

* The RI dropped the file meta group (0002,xxxx); we keep it (spec 2.1), and
  because it is equal in every instance except MediaStorageSOPInstanceUID and
  the meta version (OB, never normalized), most of it is normalized. The
  comparison leaves group 0002 out.
* The RI wrote transferSyntaxUID 1.2.840.10008.1.2.1 (explicit) for files that
  are implicit VR little endian (1.2.840.10008.1.2); we record the real one.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from mintstore.convert import StudyBuilder
from mintstore.model import Attributes
from tests.shared_data import ri_testdata

NS = "{http://medical.nema.org/mint}"
RI_STUDY = "MINT/7cc45edf-d5a6-4264-b8ae-1d24d857f04b/DICOM"

Level = dict[str, tuple[str, str | None, str | None]]


def _ri_attributes(parent: etree._Element, wrapper: str = "Attributes") -> Level:
    node = parent.find(f"{NS}{wrapper}")
    assert node is not None
    return {
        str(a.get("tag")).lower(): (str(a.get("vr")), a.get("val"), a.get("bid"))
        for a in node.iter(f"{NS}Attr")
    }


def _ours(attributes: Attributes) -> Level:
    return {
        f"{tag:08x}": (a.vr, a.val, None if a.bid is None else str(a.bid))
        for tag, a in attributes.items()
        if tag >> 16 != 0x0002
    }


def _convert() -> tuple[StudyBuilder, dict[int, bytes]]:
    builder = StudyBuilder()
    items: dict[int, bytes] = {}
    for path in sorted((ri_testdata() / "DICOM").glob("*.dcm")):
        items.update((bid, bytes(content)) for bid, content in builder.add_part10(path))
    return builder, items


def test_placement_and_values_match_the_ri() -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.parse(str(ri_testdata() / RI_STUDY / "metadata.xml"), parser).getroot()
    builder, _ = _convert()
    study = builder.study
    assert study.study_instance_uid == root.get("studyInstanceUID")
    assert _ours(study.attributes) == _ri_attributes(root)
    ri_series = root.findall(f"{NS}SeriesList/{NS}Series")
    assert sorted(str(s.get("seriesInstanceUID")) for s in ri_series) == sorted(study.series)
    for ri in ri_series:
        series = study.series[str(ri.get("seriesInstanceUID"))]
        assert _ours(series.attributes) == _ri_attributes(ri)
        assert _ours(series.normalized_attributes) == _ri_attributes(
            ri, "NormalizedInstanceAttributes"
        )
        ri_instances = ri.findall(f"{NS}Instances/{NS}Instance")
        assert sorted(str(i.get("sopInstanceUID")) for i in ri_instances) == sorted(
            series.instances
        )
        for ri_instance in ri_instances:
            instance = series.instances[str(ri_instance.get("sopInstanceUID"))]
            assert _ours(instance.attributes) == _ri_attributes(ri_instance)
            # the RI recorded the wrong syntax (see module docstring)
            assert ri_instance.get("transferSyntaxUID") == "1.2.840.10008.1.2.1"
            assert instance.transfer_syntax_uid == "1.2.840.10008.1.2"


def test_pixel_items_equal_the_ri_binary_items() -> None:
    _, items = _convert()
    ri_items = ri_testdata() / RI_STUDY / "binaryitems"
    assert sorted(items) == [0, 1, 2, 3]
    for bid, content in items.items():
        assert content == Path(ri_items / f"{bid}.dat").read_bytes()
