"""Building successful responses in the representation the client asked for.

Small documents (study roots, lock grants, create results, change logs,
search results) are described once as a root name plus records, and rendered
here as XML (the MINT default) or JSON (when the client prefers it), so every
route gives both without writing two serializers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from flask import Response

from .negotiate import JSON, prefers_json
from .xmldoc import child, element, serialize

Record = Mapping[str, str | int | bool | None]


def without_date(response: Response) -> Response:
    """Leave the ``Date`` header to the HTTP server (an after-request hook).

    werkzeug's ``make_conditional`` sets one and gunicorn always adds its
    own, so conditional responses went out with two; every WSGI server here
    adds exactly one when the application sends none.
    """
    response.headers.pop("Date", None)
    return response


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, as the RI wrote times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value: str | int | bool | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def plural(tag: str) -> str:
    """The JSON key of a list of ``tag`` records (``study`` -> ``studies``)."""
    if tag.endswith("y"):
        return tag[:-1] + "ies"
    return tag if tag.endswith("s") else tag + "s"


def document(
    root: str,
    attributes: Record,
    children: Sequence[tuple[str, Record]] = (),
    *,
    status: int = 200,
    child_tag: str | None = None,
    text_children: Sequence[tuple[str, str]] = (),
) -> Response:
    """A root element with attributes and child records (and text children), XML or JSON.

    In JSON, child records become lists under the plural of their tag; naming
    ``child_tag`` emits that list even when it is empty, so a client can
    always index it.
    """
    if prefers_json():
        body: dict[str, object] = {k: v for k, v in attributes.items() if v is not None}
        texts: dict[str, list[str]] = {}
        for tag, text in text_children:
            texts.setdefault(tag, []).append(text)
        for tag, values in texts.items():
            body[tag] = values[0] if len(values) == 1 else values
        grouped: dict[str, list[dict[str, object]]] = {child_tag: []} if child_tag else {}
        for tag, record in children:
            grouped.setdefault(tag, []).append({k: v for k, v in record.items() if v is not None})
        for tag, records in grouped.items():
            body[plural(tag)] = records
        return Response(json.dumps({root: body}), status=status, mimetype=JSON)
    node = element(root, {k: _text(v) for k, v in attributes.items()})
    for tag, text in text_children:
        child(node, tag).text = text
    for tag, record in children:
        child(node, tag, {k: _text(v) for k, v in record.items()})
    return Response(serialize(node), status=status, mimetype="application/xml")
