"""MINT metadata as JSON: the MINT structure, with every attribute set in the
DICOM JSON model (PS3.18 Annex F), familiar to DICOMweb clients.

Document shape (keys in this order; ``version`` only when known)::

    {"studyInstanceUID": "...", "type": "DICOM", "version": 3, "instanceCount": 4,
     "attributes": {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^J"}]}, ...},
     "seriesList": [{"seriesInstanceUID": "...", "instanceCount": 2,
                     "attributes": {...}, "normalizedInstanceAttributes": {...},
                     "instances": [{"sopInstanceUID": "...", "transferSyntaxUID": "...",
                                    "attributes": {...}}]}]}

``"exclude": true`` marks a series or instance of an update delta. Tags are
8 upper-case hex digits as in Annex F (the reader accepts either case).
Values follow :mod:`mintstore.formats.json_values`; inline bytes are
``InlineBinary``; a binary item reference is ``BulkDataURI``
``"binaryitems/{bid}"`` (``"binaryitems/{bid}-{last}"`` for multi-frame
pixel data), relative to the study's type folder. What Annex F has no place
for goes in a ``"MINT"`` object on the attribute, which DICOMweb clients
ignore: ``bytes`` (raw FL/FD value, base64), ``bsize``, ``framecount``,
``encapsulation`` (``{"offsetTable": base64, "fragments": [[l1, l2], [l3]]}``),
``exclude``, ``undefinedLength`` (the sequence was delimited, not sized) and
``undefinedLengthItems`` (indexes of the items that were). An instance may
carry ``"preamble"``: base64 of a Part-10 preamble that was not all zeros.

The text is written by hand rather than by ``json.dumps`` of a tree: numbers
must be emitted as their exact DICOM literal, and it keeps output linear and
streamable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from mintstore.formats.checks import FLOAT_VRS, check_study
from mintstore.formats.json_values import value_array
from mintstore.formats.wire import encode_base64
from mintstore.model import Attribute, Attributes, Instance, Series, Study, sorted_attributes


def encode_json(study: Study, *, summary: bool = False) -> bytes:
    """The whole document as UTF-8 bytes; ``summary`` leaves out instances."""
    check_study(study)
    return "".join(iter_json(study, summary=summary)).encode("utf-8")


def iter_json(study: Study, *, summary: bool = False) -> Iterator[str]:
    """The document in text chunks (one attribute set or so per chunk).

    The caller checks the model first (:func:`encode_json` does).
    """
    head = f'{{"studyInstanceUID":{_string(study.study_instance_uid)},"type":{_string(study.type)}'
    if study.version is not None:
        head += f',"version":{study.version}'
    yield head + f',"instanceCount":{study.instance_count},"attributes":'
    yield attribute_map(study.attributes)
    yield ',"seriesList":['
    for index, series in enumerate(study.sorted_series()):
        if index:
            yield ","
        yield from _series(series, summary=summary)
    yield "]}\n"


def _series(series: Series, *, summary: bool) -> Iterator[str]:
    head = f'{{"seriesInstanceUID":{_string(series.series_instance_uid)}'
    head += f',"instanceCount":{len(series.instances)}'
    if series.exclude:
        head += ',"exclude":true'
    yield head + ',"attributes":' + attribute_map(series.attributes)
    if summary:
        yield ',"normalizedInstanceAttributes":{},"instances":[]}'
        return
    yield ',"normalizedInstanceAttributes":' + attribute_map(series.normalized_attributes)
    yield ',"instances":['
    for index, instance in enumerate(series.sorted_instances()):
        yield ("," if index else "") + _instance(instance)
    yield "]}"


def _instance(instance: Instance) -> str:
    text = f'{{"sopInstanceUID":{_string(instance.sop_instance_uid)}'
    if instance.transfer_syntax_uid is not None:
        text += f',"transferSyntaxUID":{_string(instance.transfer_syntax_uid)}'
    if instance.exclude:
        text += ',"exclude":true'
    if instance.preamble is not None:
        text += f',"preamble":"{encode_base64(instance.preamble)}"'
    return text + ',"attributes":' + attribute_map(instance.attributes) + "}"


def attribute_map(attributes: Attributes) -> str:
    """One attribute set as a DICOM JSON object."""
    entries = [
        f'"{attribute.tag:08X}":{_attribute(attribute)}'
        for attribute in sorted_attributes(attributes)
    ]
    return "{" + ",".join(entries) + "}"


def _attribute(attribute: Attribute) -> str:
    text = f'{{"vr":{_string(attribute.vr)}'
    extras: list[str] = []
    if attribute.items:
        text += ',"Value":[' + ",".join(attribute_map(i.attributes) for i in attribute.items) + "]"
    if attribute.val:
        text += ',"Value":' + value_array(attribute.vr, attribute.val)
    if attribute.data is not None:
        if attribute.val or attribute.vr in FLOAT_VRS:
            extras.append(f'"bytes":"{encode_base64(attribute.data)}"')
        else:
            text += f',"InlineBinary":"{encode_base64(attribute.data)}"'
    if attribute.bid is not None:
        uri = f"binaryitems/{attribute.bid}"
        if attribute.framecount is not None and attribute.framecount > 1:
            uri += f"-{attribute.bid + attribute.framecount - 1}"
            extras.append(f'"framecount":{attribute.framecount}')
        text += f',"BulkDataURI":"{uri}"'
        if attribute.bsize is not None:
            extras.append(f'"bsize":{attribute.bsize}')
    if attribute.encapsulation is not None:
        fragments = json.dumps(attribute.encapsulation.frame_fragments, separators=(",", ":"))
        offset_table = encode_base64(attribute.encapsulation.offset_table)
        extras.append(f'"encapsulation":{{"offsetTable":"{offset_table}","fragments":{fragments}}}')
    if attribute.exclude:
        extras.append('"exclude":true')
    if attribute.undefined_length:
        extras.append('"undefinedLength":true')
    delimited = [str(i) for i, item in enumerate(attribute.items or ()) if item.undefined_length]
    if delimited:
        extras.append(f'"undefinedLengthItems":[{",".join(delimited)}]')
    if extras:
        text += ',"MINT":{' + ",".join(extras) + "}"
    return text + "}"


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
