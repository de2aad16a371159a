"""Every route of the URL map, every parameter, hostile values: never a 5xx.

hypothesis fills each path variable of each rule, plus every query parameter
and header a route reads (numbers, versions, tokens, selections, dates,
continuations), with values from a strategy that mixes the valid (UIDs of a
stored study, its version, bids that exist) with what broke the server
before: non-ASCII digits (``²``), thousands of digits, signs, spaces, control
characters, surrogates and long junk. The Flask test client keeps it fast;
the server's parsing code is the same as behind a socket.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mintstore.synthetic import write_ct_series
from mintstore.testing.hostile import delta_document
from mintstore.web import ServerConfig, create_app

HOSTILE_NUMBERS = [
    "0",
    "1",
    "2",
    "-1",
    "+1",
    " 1",
    "1 ",
    "²",
    "١٢",
    "\uff11",  # fullwidth one
    "9" * 19,
    "9" * 20,
    "9" * 5000,
    "1e3",
    "0x10",
    "1.5",
    "",
    "true",
    "all",
    "0-5,9",
    "3-1",
    "0-4294967295",
    "4294967296",
    "1.dat",
    "²-3",
    "1,²",
    '"1"',
    'W/"1"',
    '"²"',
    "*",
    '"1", "2"',
    "1." + "a" * 32,
    "0." + "0" * 32,
    "²." + "0" * 32,
    "9" * 5000 + "." + "0" * 32,
    "\x00",
    "\ud800",
    "../../x",
    "%2e%2e",
    "x" * 10_000,
]

_text = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(HOSTILE_NUMBERS),
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,25}", fullmatch=True),
    st.text(alphabet="0123456789.-,²١", max_size=30),
)

QUERY_NAMES = [
    "limit",
    "offset",
    "version",
    "oldVersion",
    "lock",
    "token",
    "action",
    "target",
    "since",
    "continuation",
    "patientID",
    "minStudyDate",
    "maxStudyDateTime",
    "modalitiesInStudy",
    "studyInstanceUID",
    # the browser view's parameters
    "page",
    "size",
    "series",
    "instance",
    "patient",
    "from",
    "to",
    # DICOMweb's
    "quality",
    "viewport",
    "window",
    "includefield",
    "fuzzymatching",
]


def _header_safe(value: str) -> str:
    # Headers are latin-1 on the wire; werkzeug's test client refuses the rest.
    return (
        value.encode("latin-1", "replace").decode("latin-1").replace("\n", " ").replace("\r", " ")
    )


@pytest.fixture(scope="module")
def app_and_values(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, list[str]]]:
    """An app over a memory store holding one small study, and values that exist in it."""
    app = create_app(ServerConfig(store_url="memory://hostile-fuzz"))
    series = write_ct_series(tmp_path_factory.mktemp("ct"), 2, rows=8, columns=8, seed=1)
    client = app.test_client()
    for path in series.paths:
        response = client.post(
            "/studies/create", data=Path(path).read_bytes(), content_type="application/dicom"
        )
        assert response.status_code == 201, response.data
    existing = [
        series.study_instance_uid,
        series.series_instance_uid,
        *series.sop_instance_uids,
        "DICOM",
        "0",
        "1",
    ]
    yield app, existing


def _rules(app: Flask) -> list[tuple[str, str, list[str]]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        arguments = sorted(rule.arguments)
        for method in sorted((rule.methods or set()) - {"OPTIONS"}):
            rules.append((method, rule.rule, arguments))
    return rules


def _quoted(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _fill(template: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        return _quoted(values[match.group(1)])

    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", replace, template)


# Every (method, rule) of the URL map, collected once from an app like the fixture's.
RULES = _rules(create_app(ServerConfig(store_url="memory://hostile-rules")))


@pytest.mark.parametrize(("method", "template", "arguments"), RULES)
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=st.data())
def test_no_route_answers_5xx(
    app_and_values: tuple[Flask, list[str]],
    method: str,
    template: str,
    arguments: list[str],
    data: st.DataObject,
) -> None:
    app, existing = app_and_values
    value = st.one_of(st.sampled_from(existing), _text)
    path_values = {name: data.draw(value, label=name) for name in arguments}
    path = _fill(template, path_values)
    query_value = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.sampled_from(existing), _text)
    query = data.draw(
        st.fixed_dictionaries({}, optional=dict.fromkeys(QUERY_NAMES, query_value)), label="query"
    )
    headers = {}
    if data.draw(st.booleans(), label="with If-Match"):
        headers["If-Match"] = _header_safe(data.draw(value, label="If-Match"))
    headers["Accept"] = data.draw(
        st.sampled_from(
            [
                "*/*",
                "application/json",
                "multipart/related",
                "application/zip",
                "text/html",
                "text/html,application/xhtml+xml",
            ]
        )
    )
    body: dict[str, Any] = {}
    if method == "POST":
        form_old = data.draw(value, label="oldVersion field")
        body = {
            "data": {
                "studyUUID": _header_safe(data.draw(value)),
                "oldVersion": _header_safe(form_old),
            },
            "content_type": "multipart/form-data",
        }
    client = app.test_client()
    query_string = "&".join(f"{name}={_quoted(raw)}" for name, raw in query.items())
    response = client.open(path, method=method, query_string=query_string, headers=headers, **body)
    try:
        assert response.status_code < 500, (method, path, query, headers, response.data[:300])
    finally:
        response.close()


_PROBES = [
    ("GET", "/studies?limit=²"),
    ("GET", "/studies?offset=" + "9" * 5000),
    ("GET", "/changelog?limit=²"),
    ("GET", "/changelog?offset=" + "9" * 5000),
    ("GET", "/studies/{study}/DICOM/metadata?version=²"),
    ("GET", "/studies/{study}/DICOM/metadata?version=" + "9" * 5000),
    ("GET", "/studies/{study}/changelog/²"),
    ("GET", "/studies/{study}/changelog/" + "9" * 5000),
    ("GET", "/studies/{study}/DICOM/binaryitems/²"),
    ("GET", "/studies/{study}/DICOM/binaryitems/" + "9" * 5000),
    ("POST", "/studies/{study}?oldVersion=²"),
    ("POST", "/studies/{study}?lock=².0"),
    ("POST", "/studies/{study}?lock=" + "9" * 5000 + ".0"),
    ("DELETE", "/studies/{study}/lock?token=²." + "0" * 32),
    ("DELETE", "/studies/{study}/lock?token=" + "9" * 5000 + "." + "0" * 32),
    ("GET", "/browse/preview/{study}/1.2/1.3.png?size=" + "9" * 5000),
]


@pytest.mark.parametrize(("method", "template"), _PROBES)
def test_known_probes_answer_400(
    app_and_values: tuple[Flask, list[str]], method: str, template: str
) -> None:
    """The red-team's integer probes, each a 400 with a message naming the parameter."""
    app, existing = app_and_values
    client = app.test_client()
    body = delta_document(existing[0])
    response = client.open(
        template.replace("{study}", existing[0]),
        method=method,
        data=body if method == "POST" else None,
        content_type="application/xml" if method == "POST" else None,
    )
    assert response.status_code == 400, response.data
    assert b"InvalidInput" in response.data, response.data  # the parameter, not the body


def test_if_match_and_jobs_oldversion(app_and_values: tuple[Flask, list[str]]) -> None:
    app, existing = app_and_values
    client = app.test_client()
    body = delta_document(existing[0])
    for bad in ['"²"', '"' + "9" * 5000 + '"', "²"]:
        response = client.post(
            f"/studies/{existing[0]}",
            data=body,
            content_type="application/xml",
            headers={"If-Match": _header_safe(bad)},
        )
        assert response.status_code == 400, response.data
    for bad in ["²", "9" * 5000, "-1"]:
        response = client.post(
            "/jobs/updatestudy",
            data={"studyUUID": existing[0], "oldVersion": bad},
            content_type="multipart/form-data",
        )
        # The job records the failure and redirects to it; the reason names the field.
        assert response.status_code in (303, 400), response.data
        if response.status_code == 303:
            status = client.get("/jobs/" + response.headers["Location"])
            assert b"oldVersion" in status.data, status.data


def _valid_path(template: str, existing: list[str], **override: str) -> str:
    """The rule's path with values that exist: the stored study, series and instance."""
    study, series, sop = existing[0], existing[1], existing[2]
    values = {"study": study, "series": series, "sop": sop, "type_name": "DICOM", **override}
    return _fill(template, collections.defaultdict(lambda: "1", values))


@pytest.mark.parametrize("bad", ["9" * 5000, "\u00b2"])
def test_every_parameter_of_every_read_route_with_a_bad_number(
    app_and_values: tuple[Flask, list[str]], bad: str
) -> None:
    """A sweep, not a sample: each GET rule on stored data, each parameter, one bad number."""
    app, existing = app_and_values
    client = app.test_client()
    for method, template, arguments in RULES:
        if method != "GET":
            continue
        for argument in arguments:  # each path variable bad, the others valid
            response = client.get(_valid_path(template, existing, **{argument: bad}))
            assert response.status_code < 500, (template, argument, bad, response.data[:300])
            response.close()
        path = _valid_path(template, existing)
        for name in QUERY_NAMES:
            browser = template == "/" or template.startswith("/browse")
            for accept in ("*/*", "text/html,application/xhtml+xml") if browser else ("*/*",):
                response = client.get(
                    path, query_string=f"{name}={_quoted(bad)}", headers={"Accept": accept}
                )
                assert response.status_code < 500, (path, name, bad, response.data[:300])
                response.close()
