"""The JSON format: DICOM JSON model attribute maps, losslessly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mintstore import formats
from mintstore.errors import InvalidMetadata
from mintstore.model import Attribute, Study

from .studies import SERIES_A, SOP_1, SOP_2, delta_study, rich_study


def as_json(study: Study) -> dict[str, Any]:
    document = json.loads(formats.encode(study, "json"))
    assert isinstance(document, dict)
    return document


def test_annex_f_shapes() -> None:
    document = as_json(rich_study())
    study = document["attributes"]
    assert study["00100010"] == {
        "vr": "PN",
        "Value": [
            {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
        ],
    }
    assert study["00080090"] == {"vr": "PN"}
    assert study["0020000D"]["Value"] == ["1.2.826.0.1.3680043.8.498.1"]  # upper-case tag keys
    assert study["00100020"]["Value"] == ["ID", "WITH", None, "EMPTY"]
    assert study["00104000"]["Value"] == ['multi\nline\r\n\ttext with \\ < & " >']  # LT: one value
    assert study["00081032"] == {"vr": "SQ"}
    assert study["00091001"] == {"vr": "UN", "InlineBinary": ""}
    series = {s["seriesInstanceUID"]: s for s in document["seriesList"]}[SERIES_A]
    normalized = series["normalizedInstanceAttributes"]
    assert normalized["00280010"]["Value"] == [512]
    assert normalized["00280106"]["Value"] == [-2000]
    instances = {i["sopInstanceUID"]: i for i in series["instances"]}
    pixel = instances[SOP_2]["attributes"]["7FE00010"]
    assert pixel["BulkDataURI"] == "binaryitems/1-3"
    assert pixel["MINT"] == {
        "bsize": 30000,
        "framecount": 3,
        "encapsulation": {
            "offsetTable": "AAAAABgnAAAwTgAA",
            "fragments": [[10000], [4000, 6000], [9000, 1000]],
        },
    }
    own = instances[SOP_1]["attributes"]
    assert own["7FE00010"] == {
        "vr": "OW",
        "BulkDataURI": "binaryitems/0",
        "MINT": {"bsize": 524288},
    }
    assert own["00189089"]["Value"] == [0.1, -1e300]
    assert own["00189089"]["MINT"]["bytes"]
    assert own["00291010"]["InlineBinary"]


def test_numbers_keep_their_exact_dicom_text() -> None:
    raw = formats.encode(rich_study(), "json")
    assert b'"00180050":{"vr":"DS","Value":[1.0]}' in raw  # not 1
    assert b'"00181120":{"vr":"DS","Value":["+0.0"]}' in raw  # not a JSON number: a string
    assert b'"Value":[" 1.000",0,0.0,-0,1E5,"0.0 "]' in raw
    decoded = formats.decode(raw, "json")
    series = decoded.series[SERIES_A]
    assert series.normalized_attributes[0x00200037].val == " 1.000\\0\\0.0\\-0\\1E5\\0.0 "


def test_person_names_with_empty_groups_survive() -> None:
    for name in ["A", "=B", "A==C", "A^B==", "a=b=c=d", "\\=x\\"]:
        study = Study("1.2", attributes={0x00100010: Attribute(0x00100010, "PN", val=name)})
        assert formats.decode(formats.encode(study, "json"), "json") == study, name


def test_delta_markers() -> None:
    document = as_json(delta_study())
    assert document["attributes"]["00101010"]["MINT"] == {"exclude": True}
    series = {s["seriesInstanceUID"]: s for s in document["seriesList"]}
    assert [s.get("exclude", False) for s in series.values()] == [True, False]
    instances = series[SERIES_A]["instances"]
    assert [i.get("exclude", False) for i in instances] == [True, False]


def test_lenient_spellings_other_producers_use_are_accepted() -> None:
    text = {
        "studyInstanceUID": "1.2",
        "attributes": {
            "0020000d": {"vr": "UI", "Value": ["1.2"]},
            "00100010": {"vr": "PN", "Value": ["DOE^J", {"Phonetic": "p"}]},
            "00280010": {"vr": "US", "Value": ["512"]},
            "7FE00010": {
                "vr": "OB",
                "BulkDataURI": "https://x.example/studies/1.2/DICOM/binaryitems/4.dat",
            },
        },
    }
    study = formats.decode(json.dumps(text).encode(), "json")
    assert study.attributes[0x00100010].val == "DOE^J\\==p"
    assert study.attributes[0x00280010].val == "512"
    assert study.attributes[0x7FE00010].bid == 4
    assert study.type == "DICOM" and study.series == {}


@pytest.mark.parametrize(
    "document",
    [
        b"[]",
        b'{"studyInstanceUID":"1.2","studyInstanceUID":"1.3"}',  # duplicate key
        b'{"studyInstanceUID":"1.2","surprise":1}',
        b'{"studyInstanceUID":1.2}',
        b'{"studyInstanceUID":"1.2","version":-1}',
        b'{"studyInstanceUID":"1.2","version":"3"}',
        b'{"studyInstanceUID":"1.2","attributes":{"0010001":{"vr":"PN"}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"PN","value":[]}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"PN","Value":"x"}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"PN","Value":[{"Bogus":"x"}]}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"LO","Value":[1]}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"LT","Value":["a","b"]}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"FD","Value":[NaN]}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"OB","InlineBinary":"@"}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"OB","BulkDataURI":"x/7"}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"7FE00010":{"vr":"OB","BulkDataURI":"binaryitems/1-3"}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"PN","MINT":{"exclude":"yes"}}}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"OB","InlineBinary":"","MINT":{"bytes":""}}}}',
        b'{"studyInstanceUID":"1.2","seriesList":[{"seriesInstanceUID":"1.3"},{"seriesInstanceUID":"1.3"}]}',
        b'{"studyInstanceUID":"1.2","seriesList":[{"instances":[]}]}',
        b'{"studyInstanceUID":"1.2","seriesList":{}}',
        b'{"studyInstanceUID":"1.2","attributes":{"00100010":{"vr":"LO","Value":["\\udc80"]}}}',
        b"\xff\xfe{}",
        b"{",
    ],
)
def test_bad_json_is_invalid_metadata(document: bytes) -> None:
    with pytest.raises(InvalidMetadata):
        formats.decode(document, "json")


def test_encoding_facts_travel_in_mint_extras() -> None:
    document = as_json(rich_study())
    series = {s["seriesInstanceUID"]: s for s in document["seriesList"]}[SERIES_A]
    instance = {i["sopInstanceUID"]: i for i in series["instances"]}[SOP_1]
    assert instance["preamble"].startswith("SUkqAAAA")
    sequence = instance["attributes"]["00081199"]
    assert sequence["MINT"] == {"undefinedLength": True, "undefinedLengthItems": [1]}


@pytest.mark.parametrize("indexes", ["[2]", "[1,0]", "[0,0]", "[-1]", '["0"]', "{}"])
def test_bad_delimited_item_indexes_are_invalid(indexes: str) -> None:
    text = (
        '{"studyInstanceUID":"1.2","attributes":{"00081199":{"vr":"SQ","Value":[{},{}],'
        f'"MINT":{{"undefinedLengthItems":{indexes}}}}}}}}}'
    )
    with pytest.raises(InvalidMetadata):
        formats.decode(text.encode(), "json")
