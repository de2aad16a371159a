"""The XML wire format: RI 1.1 shape on output, 1.2 leniency on input."""

from __future__ import annotations

import pytest
from lxml import etree

from mintstore import formats
from mintstore.errors import InvalidMetadata
from mintstore.model import Attribute, Encapsulation, Series, Study

from .studies import SERIES_A, SERIES_B, SOP_1, STUDY_UID, delta_study, rich_study

NS = "{http://medical.nema.org/mint}"


def parse(study: Study) -> etree._Element:
    return etree.fromstring(formats.encode(study, "xml"))


def test_root_and_wrappers_follow_ri_1_1() -> None:
    root = parse(rich_study())
    assert root.tag == f"{NS}study"
    assert root.get("studyInstanceUID") == STUDY_UID
    assert (root.get("type"), root.get("version"), root.get("instanceCount")) == (
        "DICOM",
        "12",
        "3",
    )
    assert [child.tag for child in root] == [f"{NS}attributes", f"{NS}seriesList"]
    for series in root.iter(f"{NS}series"):
        assert [child.tag for child in series] == [
            f"{NS}attributes",
            f"{NS}normalizedInstanceAttributes",
            f"{NS}instances",
        ]
    # Empty wrappers are still written (1.1 form).
    empty = formats.encode(Study("1.2", series={"1.3": Series("1.3")}), "xml")
    assert b"<attributes/>" in empty and b"<normalizedInstanceAttributes/>" in empty
    assert b"<instances/>" in empty


def test_sorted_by_tag_and_uid_and_empty_val_omitted() -> None:
    root = parse(rich_study())
    tags = [str(attr.get("tag")) for attr in root.find(f"{NS}attributes")]  # type: ignore[union-attr]
    assert tags == sorted(tags, key=lambda text: int(text, 16))
    series_uids = [s.get("seriesInstanceUID") for s in root.iter(f"{NS}series")]
    assert series_uids == sorted(series_uids)  # type: ignore[type-var]
    assert series_uids == [SERIES_B, SERIES_A]  # string order, not numeric
    for series in root.iter(f"{NS}series"):
        sop_uids = [i.get("sopInstanceUID") for i in series.iter(f"{NS}instance")]
        assert sop_uids == sorted(sop_uids)  # type: ignore[type-var]
    assert b'val=""' not in formats.encode(rich_study(), "xml")
    empty_pn = root.find(f"{NS}attributes/{NS}attr[@tag='00080090']")
    assert empty_pn is not None
    assert sorted(empty_pn.attrib.items()) == [("tag", "00080090"), ("vr", "PN")]


def test_value_forms_are_spelled_as_the_spec_says() -> None:
    root = parse(rich_study())
    by_tag = {
        (attr.get("tag"), attr.getparent().getparent().get("sopInstanceUID")): attr  # type: ignore[union-attr]
        for attr in root.iter(f"{NS}attr")
    }
    pixel = by_tag["7fe00010", "1.2.826.0.1.3680043.8.498.3.2"]
    assert pixel.get("bid") == "1" and pixel.get("bsize") == "30000"
    assert pixel.get("framecount") == "3"
    assert pixel.get("fragments") == "10000;4000,6000;9000,1000"
    assert pixel.get("offsetTable") == "AAAAABgnAAAwTgAA"
    single = by_tag["7fe00010", SOP_1]
    assert single.get("framecount") is None and single.get("fragments") is None
    fd = by_tag["00189089", SOP_1]
    assert fd.get("val") == "0.1\\-1e+300" and fd.get("bytes")
    control = by_tag["00091002", None]
    assert control.get("val") is None and control.get("valBase64")


def test_exclude_is_written_true_and_read_leniently() -> None:
    document = formats.encode(delta_study(), "xml")
    assert document.count(b'exclude="true"') == 6
    for spelling, expected in [
        ("true", True),
        ("remove", True),
        ("1", True),
        ("", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
    ]:
        text = f"""<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2">
          <attributes><attr tag="00100010" vr="PN" exclude="{spelling}"/></attributes>
        </study>"""
        study = formats.decode(text.encode(), "xml")
        assert study.attributes[0x00100010].exclude is expected, spelling


def test_1_2_form_without_wrappers_and_without_namespace_is_accepted() -> None:
    text = b"""<?xml version="1.0"?>
    <study studyInstanceUID="1.2" version="3">
      <seriesList><series seriesInstanceUID="1.3">
        <instances><instance sopInstanceUID="1.4">
          <attributes>
            <attr tag="00081115" vr="SQ">
              <item><attr tag="00081150" vr="UI" val="1.5"/></item>
            </attr>
            <attr tag="7FE00010" vr="OB" bid="0" framecount="1" val=""/>
          </attributes>
        </instance></instances>
      </series></seriesList>
    </study>"""
    study = formats.decode(text, "xml")
    assert study.version == 3 and study.type == "DICOM" and study.attributes == {}
    instance = study.series["1.3"].instances["1.4"]
    assert instance.transfer_syntax_uid is None
    sequence = instance.attributes[0x00081115]
    assert sequence.items is not None
    assert sequence.items[0].attributes[0x00081150].val == "1.5"
    pixel = instance.attributes[0x7FE00010]
    assert (pixel.bid, pixel.framecount, pixel.val) == (0, None, None)


def test_unknown_attributes_and_foreign_elements_are_ignored() -> None:
    text = b"""<study xmlns="http://medical.nema.org/mint" xmlns:x="urn:other"
        studyInstanceUID="1.2" futureThing="yes">
      <x:annotation>ignored</x:annotation>
      <attributes><attr tag="00100010" vr="PN" val="A" x:note="n" extra="e"/></attributes>
    </study>"""
    assert formats.decode(text, "xml").attributes[0x00100010].val == "A"


@pytest.mark.parametrize(
    "body",
    [
        b'<attributes><attr tag="0010001" vr="PN"/></attributes>',  # 7 digits
        b'<attributes><attr tag="0010001g" vr="PN"/></attributes>',
        b'<attributes><attr vr="PN"/></attributes>',
        b'<attributes><attr tag="00100010"/></attributes>',
        b'<attributes><attr tag="00100010" vr="pn"/></attributes>',
        b'<attributes><attr tag="00100010" vr="OB" bid="-1"/></attributes>',
        b'<attributes><attr tag="00100010" vr="OB" bid="4294967296"/></attributes>',
        b'<attributes><attr tag="00100010" vr="OB" bsize="5"/></attributes>',
        b'<attributes><attr tag="00100010" vr="OB" bid="1" framecount="0"/></attributes>',
        b'<attributes><attr tag="00100010" vr="OB" bytes="@@@"/></attributes>',
        b'<attributes><attr tag="00100010" vr="OB" bid="1" bytes="AA=="/></attributes>',
        b'<attributes><attr tag="00100010" vr="LO" val="a"><item/></attr></attributes>',
        b'<attributes><attr tag="00100010" vr="SQ" val="a"/></attributes>',
        b'<attributes><attr tag="7fe00010" vr="OB" bid="1" fragments="1;;x"/></attributes>',
        b'<attributes><attr tag="7fe00010" vr="OB" offsetTable="AA=="/></attributes>',
        b'<attributes><attr tag="00100010" vr="PN"/><attr tag="00100010" vr="PN"/></attributes>',
        b"<attributes/><attributes/>",
        b"<bogus/>",
        b'<seriesList><series seriesInstanceUID="1.3"/><series seriesInstanceUID="1.3"/>'
        b"</seriesList>",
        b"<seriesList><series/></seriesList>",
        b'<seriesList><series seriesInstanceUID="1 3"/></seriesList>',
    ],
)
def test_malformed_documents_are_invalid_metadata(body: bytes) -> None:
    text = (
        b'<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2">' + body + b"</study>"
    )
    with pytest.raises(InvalidMetadata):
        formats.decode(text, "xml")


@pytest.mark.parametrize(
    "text",
    [
        b'<study xmlns="http://medical.nema.org/mint"/>',  # no UID
        b'<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2" version="x"/>',
        b'<other xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2"/>',
        b'<study xmlns="urn:wrong" studyInstanceUID="1.2"/>',
        b"",
        b"<study",
    ],
)
def test_bad_roots_are_invalid_metadata(text: bytes) -> None:
    with pytest.raises(InvalidMetadata):
        formats.decode(text, "xml")


def test_attribute_values_keep_whitespace_and_markup_characters() -> None:
    value = "a\nb\r\nc\td  <&>\"'"
    study = Study("1.2", attributes={0x00104000: Attribute(0x00104000, "LT", val=value)})
    assert formats.decode(formats.encode(study, "xml"), "xml") == study


def test_encapsulation_without_frames_round_trips() -> None:
    pixel = Attribute(0x7FE00010, "OB", bid=0, encapsulation=Encapsulation())
    study = Study("1.2", attributes={pixel.tag: pixel})
    document = formats.encode(study, "xml")
    assert b'offsetTable="" fragments=""' in document
    assert formats.decode(document, "xml") == study


def test_series_and_instance_exclude_markers_decode() -> None:
    study = formats.decode(formats.encode(delta_study(), "xml"), "xml")
    assert study.series[SERIES_A].instances[SOP_1].exclude
    assert not study.series[SERIES_A].exclude


def test_encoding_facts_are_extension_attributes() -> None:
    root = parse(rich_study())
    instance = next(i for i in root.iter(f"{NS}instance") if i.get("sopInstanceUID") == SOP_1)
    assert instance.get("preamble", "").startswith("SUkqAAAA")
    sequences = [a for a in instance.iter(f"{NS}attr") if a.get("tag") == "00081199"]
    assert [a.get("undefinedLength") for a in sequences] == ["true", None, None, None, None]
    items = list(sequences[0].iter(f"{NS}item"))
    assert {i.get("undefinedLength") for i in items} == {None, "true"}


def test_a_preamble_must_be_128_bytes() -> None:
    text = b"""<study xmlns="http://medical.nema.org/mint" studyInstanceUID="1.2">
      <seriesList><series seriesInstanceUID="1.3"><instances>
        <instance sopInstanceUID="1.4" preamble="AAAA"/>
      </instances></series></seriesList></study>"""
    with pytest.raises(InvalidMetadata, match="128"):
        formats.decode(text, "xml")
