"""MINT metadata as XML, the RI 1.1 wire format, written as a stream of text.

The document is produced piece by piece (one attribute set at a time) so a
huge study never has to exist as a DOM; escaping is done here with one
translation table, which is both linear and much faster than building lxml
elements. All wrappers are written even when empty (the 1.1 form old RI
readers expect); empty ``val`` is omitted, never ``val=""``.

mintstore extensions are extra XML *attributes* on ``attr`` (old readers
ignore unknown attributes, whereas an unknown child element could confuse
them):

* ``offsetTable`` -- base64 of the Basic Offset Table item of encapsulated
  pixel data (may be empty), and ``fragments`` -- the fragment lengths of
  each frame's binary item, ``"l1,l2;l3"`` (commas within a frame,
  semicolons between frames). Both present iff the attribute has
  :class:`~mintstore.model.Encapsulation`.
* ``valBase64`` -- replaces ``val`` when the text contains characters that
  XML 1.0 cannot carry at all (e.g. ``\\x00`` or ESC); base64 of its UTF-8.
* ``undefinedLength="true"`` on ``attr`` and on ``item`` -- the sequence or
  item was encoded with a delimiter instead of a length (for byte-exact
  rebuilds), and ``preamble`` on ``instance`` -- base64 of a Part-10 preamble
  that was not all zeros.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mintstore.formats.checks import check_study
from mintstore.formats.wire import EXCLUDE_TRUE, encode_base64, format_fragments
from mintstore.model import Attribute, Attributes, Instance, Series, Study, sorted_attributes

MINT_NAMESPACE = "http://medical.nema.org/mint"

_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def encode_xml(study: Study, *, summary: bool = False) -> bytes:
    """The whole document as UTF-8 bytes; ``summary`` leaves out instances."""
    check_study(study)
    return "".join(iter_xml(study, summary=summary)).encode("utf-8")


def iter_xml(study: Study, *, summary: bool = False) -> Iterator[str]:
    """The document in text chunks (one attribute set or so per chunk).

    The caller checks the model first (:func:`encode_xml` does).
    """
    head = [
        _pair("studyInstanceUID", study.study_instance_uid),
        _pair("type", study.type),
    ]
    if study.version is not None:
        head.append(_pair("version", str(study.version)))
    head.append(_pair("instanceCount", str(study.instance_count)))
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<study xmlns="{MINT_NAMESPACE}"{"".join(head)}>\n'
    yield _attribute_set("attributes", study.attributes, 1)
    yield "  <seriesList>\n"
    for series in study.sorted_series():
        yield from _series(series, summary=summary)
    yield "  </seriesList>\n</study>\n"


def _series(series: Series, *, summary: bool) -> Iterator[str]:
    head = _pair("seriesInstanceUID", series.series_instance_uid) + _pair(
        "instanceCount", str(len(series.instances))
    )
    if series.exclude:
        head += _pair("exclude", EXCLUDE_TRUE)
    yield f"    <series{head}>\n"
    yield _attribute_set("attributes", series.attributes, 3)
    if summary:
        yield "      <normalizedInstanceAttributes/>\n      <instances/>\n"
    else:
        yield _attribute_set("normalizedInstanceAttributes", series.normalized_attributes, 3)
        if not series.instances:
            yield "      <instances/>\n"
        else:
            yield "      <instances>\n"
            for instance in series.sorted_instances():
                yield _instance(instance)
            yield "      </instances>\n"
    yield "    </series>\n"


def _instance(instance: Instance) -> str:
    head = _pair("sopInstanceUID", instance.sop_instance_uid)
    if instance.transfer_syntax_uid is not None:
        head += _pair("transferSyntaxUID", instance.transfer_syntax_uid)
    if instance.exclude:
        head += _pair("exclude", EXCLUDE_TRUE)
    if instance.preamble is not None:
        head += _pair("preamble", encode_base64(instance.preamble))
    body = _attribute_set("attributes", instance.attributes, 5)
    return f"        <instance{head}>\n{body}        </instance>\n"


def _attribute_set(name: str, attributes: Attributes, depth: int) -> str:
    pad = "  " * depth
    if not attributes:
        return f"{pad}<{name}/>\n"
    parts = [f"{pad}<{name}>\n"]
    for attribute in sorted_attributes(attributes):
        _attribute(attribute, depth + 1, parts)
    parts.append(f"{pad}</{name}>\n")
    return "".join(parts)


def _attribute(attribute: Attribute, depth: int, parts: list[str]) -> None:
    pad = "  " * depth
    head = f'{pad}<attr tag="{attribute.tag:08x}" vr="{_escape(attribute.vr)}"'
    val_extension = ""
    if attribute.val:
        if _NOT_XML_CHAR.search(attribute.val):
            val_extension = _pair("valBase64", encode_base64(attribute.val.encode("utf-8")))
        else:
            head += _pair("val", attribute.val)
    if attribute.data is not None:
        head += _pair("bytes", encode_base64(attribute.data))
    if attribute.bid is not None:
        head += _pair("bid", str(attribute.bid))
        if attribute.bsize is not None:
            head += _pair("bsize", str(attribute.bsize))
        if attribute.framecount is not None and attribute.framecount > 1:
            head += _pair("framecount", str(attribute.framecount))
    if attribute.exclude:
        head += _pair("exclude", EXCLUDE_TRUE)
    head += val_extension
    if attribute.encapsulation is not None:
        head += _pair("offsetTable", encode_base64(attribute.encapsulation.offset_table))
        head += _pair("fragments", format_fragments(attribute.encapsulation.frame_fragments))
    if attribute.undefined_length:
        head += _pair("undefinedLength", "true")
    if not attribute.items:
        parts.append(head + "/>\n")
        return
    parts.append(head + ">\n")
    for item in attribute.items:
        flag = ' undefinedLength="true"' if item.undefined_length else ""
        parts.append(f"{pad}  <item{flag}>\n")
        parts.append(_attribute_set("attributes", item.attributes, depth + 2))
        parts.append(f"{pad}  </item>\n")
    parts.append(f"{pad}</attr>\n")


def _pair(name: str, value: str) -> str:
    return f' {name}="{_escape(value)}"'


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)
