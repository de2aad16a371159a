"""Human-readable HTML pages for a browser reaching ``/`` or a study.

The RI shipped an XSL stylesheet for its XML; plain server-rendered HTML does
the same job with less machinery. Every value is escaped: study attributes
come from uploaded files and are untrusted.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, request
from markupsafe import escape

from mintstore.model import Study
from mintstore.store import SearchHit, StudyInfo

from .responses import iso

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    # UIDs are long unbroken strings: let them wrap instead of widening the page.
    "td{overflow-wrap:anywhere}"
)

#: Study attributes worth showing on a study page, by tag.
_SHOWN = (
    (0x00100010, "Patient name"),
    (0x00100020, "Patient ID"),
    (0x00080020, "Study date"),
    (0x00080030, "Study time"),
    (0x00081030, "Study description"),
    (0x00080050, "Accession number"),
)


def wants_html() -> bool:
    """True for a browser: HTML ranked above XML and JSON."""
    accept = request.accept_mimetypes
    best = accept.best_match(["application/xml", "application/json", "text/html"])
    return best == "text/html" and accept["text/html"] > accept["application/xml"]


def _page(title: str, body: str) -> Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(html, mimetype="text/html")


def index_page(base: str, hits: Iterable[SearchHit]) -> Response:
    """The server root: the most recent studies, each linking to its page."""
    rows = "".join(
        f"<tr><td><a href='{escape(base)}/studies/{escape(hit.study_uid)}'>"
        f"{escape(hit.study_uid)}</a></td><td>{escape(hit.patient_id or '')}</td>"
        f"<td>{escape(hit.study_date or '')}</td><td>{hit.version}</td>"
        f"<td>{escape(iso(hit.last_modified))}</td></tr>"
        for hit in hits
    )
    body = (
        "<h1>mintstore</h1><h2>Studies</h2><table id='studies'><tr><th>Study UID</th>"
        f"<th>Patient ID</th><th>Study date</th><th>Version</th><th>Last modified</th></tr>{rows}"
        f"</table><p><a href='{escape(base)}/openapi.json'>API description</a></p>"
    )
    return _page("mintstore", body)


def study_page(base: str, info: StudyInfo, study: Study) -> Response:
    """One study: its main attributes, its series, links to documents and instances."""
    study_url = f"{base}/studies/{info.study_uid}"
    facts = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(study.attributes[tag].val or '')}</td></tr>"
        for tag, label in _SHOWN
        if tag in study.attributes
    )
    series_rows = []
    for series in study.sorted_series():
        modality = series.attributes.get(0x00080060)
        description = series.attributes.get(0x0008103E)
        instances = "<br>".join(
            f"<a href='{escape(study_url)}/{escape(series.series_instance_uid)}/"
            f"{escape(instance.sop_instance_uid)}'>{escape(instance.sop_instance_uid)}</a>"
            for instance in series.sorted_instances()
        )
        series_rows.append(
            f"<tr><td>{escape(series.series_instance_uid)}</td>"
            f"<td>{escape(modality.val or '') if modality else ''}</td>"
            f"<td>{escape(description.val or '') if description else ''}</td>"
            f"<td class='count'>{len(series.instances)}</td><td>{instances}</td></tr>"
        )
    body = (
        f"<h1>Study {escape(info.study_uid)}</h1>"
        f"<p>Version <span id='version'>{info.version}</span>, last update "
        f"{escape(iso(info.last_update))}</p><table id='study'>{facts}</table>"
        "<h2>Series</h2><table id='series'><tr><th>Series UID</th><th>Modality</th>"
        f"<th>Description</th><th>Instances</th><th>SOP instances</th></tr>"
        f"{''.join(series_rows)}</table><p>"
        f"<a href='{escape(study_url)}/DICOM/metadata'>metadata</a> · "
        f"<a href='{escape(study_url)}/DICOM/summary'>summary</a> · "
        f"<a href='{escape(study_url)}/changelog'>change log</a></p>"
    )
    return _page(f"Study {info.study_uid}", body)
