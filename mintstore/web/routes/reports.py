"""Structured reports of a study: ``/studies/{study}/DICOM/reports[.xml|.json]``.

Each SR instance (SOP class 1.2.840.10008.5.1.4.1.1.88.*) is rebuilt and its
content tree walked into nested items (relationship, value type, concept
name, value), with a link to the Part-10 object, so a reader gets the report
text without a DICOM toolkit.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Blueprint, Response
from lxml import etree
from pydicom import dcmread
from pydicom.dataset import Dataset

from mintstore.errors import ItemNotFound
from mintstore.model import Series, Study

from .. import context
from ..negotiate import JSON, prefers_json
from ..uids import validate_uid
from ..xmldoc import child, element, serialize

blueprint = Blueprint("reports", __name__)

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
SOP_CLASS_UID_TAG = 0x00080016
MAX_DEPTH = 64


def _sop_class(series: Series, sop_uid: str) -> str | None:
    instance = series.instances[sop_uid]
    for attributes in (instance.attributes, series.normalized_attributes, series.attributes):
        attribute = attributes.get(SOP_CLASS_UID_TAG)
        if attribute is not None:
            return attribute.val
    return None


def sr_instances(study: Study) -> list[tuple[str, str, str]]:
    """(series UID, SOP UID, SOP class) of every structured report in the study."""
    found = []
    for series in study.sorted_series():
        for instance in series.sorted_instances():
            sop_class = _sop_class(series, instance.sop_instance_uid) or ""
            if sop_class.startswith(SR_CLASS_PREFIX):
                found.append((series.series_instance_uid, instance.sop_instance_uid, sop_class))
    return found


def _concept(item: Dataset) -> str | None:
    codes = item.get("ConceptNameCodeSequence")
    if codes:
        return str(codes[0].get("CodeMeaning", "")) or None
    return None


def _value(item: Dataset) -> str | None:
    kind = item.get("ValueType", "")
    if kind == "TEXT":
        return str(item.get("TextValue", ""))
    if kind == "CODE" and item.get("ConceptCodeSequence"):
        return str(item.ConceptCodeSequence[0].get("CodeMeaning", ""))
    if kind == "NUM" and item.get("MeasuredValueSequence"):
        measured = item.MeasuredValueSequence[0]
        units = measured.get("MeasurementUnitsCodeSequence")
        unit = f" {units[0].get('CodeValue', '')}" if units else ""
        return f"{measured.get('NumericValue', '')}{unit}"
    for keyword in ("PersonName", "DateTime", "Date", "Time", "UID"):
        if keyword in item:
            return str(item.get(keyword))
    return None


def content_tree(node: Dataset, depth: int = 0) -> dict[str, Any]:
    """One content item and its children as plain data."""
    tree: dict[str, Any] = {
        "relationship": node.get("RelationshipType"),
        "valueType": node.get("ValueType"),
        "concept": _concept(node),
        "value": _value(node),
    }
    if depth < MAX_DEPTH and node.get("ContentSequence"):
        tree["children"] = [content_tree(item, depth + 1) for item in node.ContentSequence]
    return {key: value for key, value in tree.items() if value not in (None, "")}


def _xml_item(parent: etree._Element, tree: dict[str, Any]) -> None:
    node = child(parent, "item", {k: str(v) for k, v in tree.items() if k != "children"})
    for sub in tree.get("children", []):
        _xml_item(node, sub)


@blueprint.get("/studies/<study>/<type_name>/reports")
@blueprint.get("/studies/<study>/<type_name>/reports.<ext>")
def reports(study: str, type_name: str, ext: str = "") -> Response:
    """Every SR content tree of the study, XML (default) or JSON."""
    validate_uid(study, "study UID")
    if type_name != "DICOM" or ext not in ("", "xml", "json"):
        raise ItemNotFound("reports are served as reports, reports.xml or reports.json of DICOM")
    version = context.store().open_version(study)
    metadata = version.metadata()
    base = f"{context.base_url()}/studies/{study}"
    documents: list[dict[str, Any]] = []
    for series_uid, sop_uid, sop_class in sr_instances(metadata):
        buffer = io.BytesIO()
        version.instance_part10(series_uid, sop_uid, buffer)
        dataset = dcmread(io.BytesIO(buffer.getvalue()))
        documents.append(
            {
                "seriesInstanceUID": series_uid,
                "sopInstanceUID": sop_uid,
                "sopClassUID": sop_class,
                "href": f"{base}/{series_uid}/{sop_uid}",
                "content": content_tree(dataset),
            }
        )
    if ext == "json" or (ext == "" and prefers_json()):
        body = json.dumps({"studyUUID": study, "reports": documents})
        return Response(body, mimetype=JSON)
    root = element("reports", {"studyUUID": study})
    for document in documents:
        report = child(root, "report", {k: str(v) for k, v in document.items() if k != "content"})
        _xml_item(report, document["content"])
    return Response(serialize(root), mimetype="application/xml")
