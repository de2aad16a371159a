"""The browser view: study search, a study page with thumbnails, and a sign-in form.

Server-rendered HTML (Jinja templates under ``templates/browser``, escaped
by default: every value comes from uploaded files). The server root answers a
browser with the search page, ``/studies/<uid>`` with the study page; the
store reads behind them are in :mod:`.browser_queries`, the images come from
:mod:`.preview`.

With tokens configured, a browser without credentials is sent to
``/browse/login``; the token it enters is checked and kept in an HttpOnly,
SameSite=Strict cookie. :mod:`.auth` accepts that cookie for GET and HEAD
only, so a cross-site form can never make a change with it (CSRF), and the
two POSTs here (sign in, sign out) refuse requests whose Origin is another
site.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Response as BaseResponse

from mintstore.errors import InvalidInput
from mintstore.model import Study
from mintstore.store import StudyInfo

from . import context
from .auth import COOKIE, current_token
from .browser_queries import (
    ACCESSION,
    MODALITY,
    PATIENT_ID,
    PATIENT_NAME,
    SERIES_DESCRIPTION,
    STUDY_DATE,
    STUDY_DESCRIPTION,
    CardCache,
    Criteria,
    find_studies,
    has_pixels,
    instance_number,
    instances_in_order,
    person_name,
    series_in_order,
    series_number,
    text,
)
from .params import optional_int
from .responses import iso

blueprint = Blueprint("browser", __name__)

PAGE_SIZE = 25
#: How long the sign-in cookie lives (seconds).
COOKIE_SECONDS = 12 * 3600


@blueprint.app_template_filter("person")
def _person_filter(value: str) -> str:
    return person_name(value)


@blueprint.app_template_filter("dicom_date")
def _date_filter(value: str) -> str:
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _render(template: str, **values: Any) -> Response:
    config = context.config()
    token = current_token()
    html = render_template(
        f"browser/{template}",
        base=context.base_url(),
        auth_required=config.auth_required,
        user=token.name if token else None,
        **values,
    )
    response = Response(html, mimetype="text/html")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return response


def _cards() -> CardCache:
    from flask import current_app

    cache: CardCache = current_app.extensions.setdefault("mintstore.browser_cards", CardCache())
    return cache


def _form_date(value: str) -> str:
    """``2024-03-01`` (an HTML date input) or ``20240301`` -> ``20240301``; else raise."""
    cleaned = value.strip().replace("-", "")
    if not cleaned:
        return ""
    try:
        if len(cleaned) != 8 or not cleaned.isascii() or not cleaned.isdigit():
            raise ValueError(value)
        date(int(cleaned[:4]), int(cleaned[4:6]), int(cleaned[6:]))
    except ValueError:
        raise ValueError(f"not a date: {value[:20]!r}") from None
    return cleaned


def search_page() -> Response:
    """The server root for a browser: the search form and one page of results."""
    args = request.args
    form = {
        name: args.get(name, "")[:128]
        for name in ("patient", "patient_id", "accession", "from", "to", "modality")
    }
    try:
        page_number = optional_int(args.get("page"), "page", default=1)
    except InvalidInput:
        page_number = 1  # a browser's address bar: a bad page number shows the first page
    page_number = max(1, min(page_number, 10_000))
    error = None
    try:
        criteria = Criteria(
            patient_name=form["patient"].strip(),
            patient_id=form["patient_id"].strip(),
            accession=form["accession"].strip(),
            date_from=_form_date(form["from"]),
            date_to=_form_date(form["to"]),
            modality=form["modality"].strip().upper(),
        )
    except ValueError as exc:
        criteria, error = Criteria(), f"{exc}; showing all studies"
    offset = (page_number - 1) * PAGE_SIZE
    page = find_studies(context.store(), _cards(), criteria, offset, PAGE_SIZE)
    kept = {name: value for name, value in form.items() if value}
    base = context.base_url()

    def page_url(number: int) -> str:
        return f"{base}/?" + urlencode({**kept, "page": number})

    return _render(
        "search.html",
        form=form,
        page=page,
        error=error,
        first=offset + 1 if page.cards else 0,
        last=offset + len(page.cards),
        next_url=page_url(page_number + 1) if page.has_more else None,
        previous_url=page_url(page_number - 1) if page_number > 1 else None,
    )


def index_page(base: str, hits: object = None) -> Response:
    """The server root for a browser (kept name): see :func:`search_page`."""
    return search_page()


def _preview_url(base: str, study: str, series: str, sop: str, size: int) -> str:
    return f"{base}/browse/preview/{study}/{series}/{sop}.png?size={size}"


def study_page(base: str, info: StudyInfo, study: Study) -> Response:
    """One study: facts, series by number with thumbnails, the chosen series' instances."""
    study_url = f"{base}/studies/{info.study_uid}"
    facts = [
        ("Patient name", person_name(text(study.attributes, PATIENT_NAME))),
        ("Patient ID", text(study.attributes, PATIENT_ID)),
        ("Study date", _date_filter(text(study.attributes, STUDY_DATE))),
        ("Study description", text(study.attributes, STUDY_DESCRIPTION)),
        ("Accession number", text(study.attributes, ACCESSION)),
    ]
    ordered = series_in_order(study)
    wanted_series = request.args.get("series", "")
    current = next((s for s in ordered if s.series_instance_uid == wanted_series), None)
    if current is None and ordered:
        current = ordered[0]
    series_rows = []
    for series in ordered:
        instances = instances_in_order(series)
        middle = instances[len(instances) // 2] if instances else None
        link = f"{study_url}?" + urlencode({"series": series.series_instance_uid})
        thumbnail = None
        if middle is not None and has_pixels(series, middle):
            thumbnail = _preview_url(
                base, info.study_uid, series.series_instance_uid, middle.sop_instance_uid, 128
            )
        series_rows.append(
            {
                "number": series_number(series),
                "modality": text(series.attributes, MODALITY),
                "description": text(series.attributes, SERIES_DESCRIPTION),
                "count": len(series.instances),
                "thumbnail": thumbnail,
                "uid": series.series_instance_uid,
                "link": link,
                "selected": series is current,
            }
        )
    strip: list[dict[str, Any]] = []
    selected = None
    current_row = None
    if current is not None:
        current_row = next(row for row in series_rows if row["uid"] == current.series_instance_uid)
        instances = instances_in_order(current)
        wanted = request.args.get("instance", "")
        chosen = next((i for i in instances if i.sop_instance_uid == wanted), None)
        if chosen is None and instances:
            chosen = instances[len(instances) // 2]
        for instance in instances:
            uid = instance.sop_instance_uid
            pixels = has_pixels(current, instance)
            item = {
                "uid": uid,
                "number": instance_number(current, instance),
                "thumbnail": _preview_url(
                    base, info.study_uid, current.series_instance_uid, uid, 96
                )
                if pixels
                else None,
                "link": f"{study_url}?"
                + urlencode({"series": current.series_instance_uid, "instance": uid}),
                "selected": instance is chosen,
            }
            strip.append(item)
            if instance is chosen:
                selected = {
                    **item,
                    "preview": _preview_url(
                        base, info.study_uid, current.series_instance_uid, uid, 512
                    )
                    if pixels
                    else None,
                    "download": f"{study_url}/{current.series_instance_uid}/{uid}",
                }
    return _render(
        "study.html",
        info=info,
        last_update=iso(info.last_update),
        facts=[(label, value) for label, value in facts if value],
        series_rows=series_rows,
        current=current_row,
        strip=strip,
        selected=selected,
        study_url=study_url,
    )


def _same_origin() -> None:
    """Refuse a POST sent by a page of another site (login CSRF, forced sign-out)."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin and urlsplit(origin).netloc != request.host:
        raise Forbidden("this form only accepts submissions from its own site")


def _safe_next(target: str) -> str:
    base = context.base_url()
    path = urlsplit(base).path
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return path + "/"


@blueprint.route("/browse/login", methods=["GET", "POST"])
def login() -> BaseResponse:
    """The sign-in form; POST checks the token and sets the cookie."""
    config = context.config()
    next_target = _safe_next(request.values.get("next", ""))
    if request.method == "GET" or not config.auth_required:
        return _render("login.html", next=next_target, error=None)
    _same_origin()
    secret = request.form.get("token", "").strip()
    token = next((t for t in config.tokens if secret and t.matches(secret)), None)
    if token is None:  # the form again, saying why (a page, not an API error)
        return _render("login.html", next=next_target, error="That token is not known.")
    response = redirect(next_target, code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=COOKIE_SECONDS,
        path=(urlsplit(context.base_url()).path or "") + "/",
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


@blueprint.post("/browse/logout")
def logout() -> BaseResponse:
    """Forget the cookie."""
    _same_origin()
    response = redirect(context.base_url() + "/browse/login", code=303)
    response.delete_cookie(COOKIE, path=(urlsplit(context.base_url()).path or "") + "/")
    return response
