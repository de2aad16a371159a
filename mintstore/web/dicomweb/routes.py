"""The DICOMweb blueprint: URL rules, parameters, responses.

Each view parses its request, takes one :class:`~.reads.Snapshot` of the
study and hands over to :mod:`.qido`, :mod:`.wado`, :mod:`.stow` or
:mod:`.rendering`. Errors are the domain errors of :mod:`mintstore.errors`
(or werkzeug's HTTP ones) and become JSON bodies by the handlers of
:mod:`mintstore.web.errors`, in the DICOMweb dialect of :mod:`.service`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, stream_with_context
from werkzeug.exceptions import NotAcceptable, RequestedRangeNotSatisfiable

from mintstore.errors import InvalidInput
from mintstore.web import context
from mintstore.web.params import parse_int
from mintstore.web.selection import MAX_BID
from mintstore.web.uids import validate_uid

from ..doc_cache import DocumentCache
from ..input_limits import InputLimits
from . import multipart, part10_template, qido, rendering, stow, wado
from .config import DicomWebConfig
from .media import DICOM, DICOM_JSON, OCTET, parse_accept, type_matches
from .pixels import parse_frame_list, pixel_layout
from .reads import Snapshot, StoreReads

blueprint = Blueprint("dicomweb", __name__)


def settings() -> DicomWebConfig:
    config: DicomWebConfig = current_app.extensions["mintstore.web.dicomweb.config"]
    return config


def reads() -> StoreReads:
    found: StoreReads = current_app.extensions["mintstore.web.dicomweb.reads"]
    return found


def root_url() -> str:
    config = settings()
    return config.public_url or context.base_url() + config.root


def urls() -> qido.Urls:
    return qido.Urls(root_url())


def bulk_base(study: str) -> str:
    return f"{root_url()}/studies/{study}/bulkdata"


def _uids(study: str, series: str | None = None, sop: str | None = None) -> None:
    validate_uid(study, "Study Instance UID")
    if series is not None:
        validate_uid(series, "Series Instance UID")
    if sop is not None:
        validate_uid(sop, "SOP Instance UID")


def _warn(response: Response, warnings: list[str]) -> Response:
    for text in warnings:
        cleaned = text.replace('"', "'").replace("\r", " ").replace("\n", " ")
        response.headers.add("Warning", f'299 mintstore "{cleaned}"')
    return response


def _json_accepted() -> None:
    for entry in parse_accept(request.headers.get("Accept")):
        if any(type_matches(entry.type, t) for t in (DICOM_JSON, "application/json")):
            return
    raise NotAcceptable("this resource is application/dicom+json (or application/json)")


# --- QIDO-RS ----------------------------------------------------------------------------


def _search(level: str, study: str | None = None, series: str | None = None) -> Response:
    _json_accepted()
    if study is not None:
        _uids(study, series)
    search = qido.parse_search(level, request.args)
    config = settings()
    if study is None:
        answer = qido.run_across(
            reads(), search, urls(), config.max_results, config.max_scanned_studies
        )
    else:
        answer = qido.run_in_study(reads(), search, urls(), study, series, config.max_results)
    body = "[" + ",".join(answer.objects) + "]"
    return _warn(Response(body, mimetype=DICOM_JSON), answer.warnings)


@blueprint.get("/studies")
def search_studies() -> Response:
    return _search(qido.STUDY)


@blueprint.get("/series")
def search_all_series() -> Response:
    return _search(qido.SERIES)


@blueprint.get("/instances")
def search_all_instances() -> Response:
    return _search(qido.INSTANCE)


@blueprint.get("/studies/<study>/series")
def search_series(study: str) -> Response:
    return _search(qido.SERIES, study)


@blueprint.get("/studies/<study>/instances")
def search_study_instances(study: str) -> Response:
    return _search(qido.INSTANCE, study)


@blueprint.get("/studies/<study>/series/<series>/instances")
def search_instances(study: str, series: str) -> Response:
    return _search(qido.INSTANCE, study, series)


# --- WADO-RS: instances ----------------------------------------------------------------


def _selected(
    snapshot: Snapshot, series: str | None, sop: str | None
) -> list[tuple[str, str, str]]:
    """(series, sop, stored syntax) of every instance the URL names (404 if none)."""
    if series is not None:
        snapshot.series(series)
    if sop is not None and series is not None:
        snapshot.instance(series, sop)
    chosen = []
    for each in snapshot.study.sorted_series():
        if series is not None and each.series_instance_uid != series:
            continue
        for instance in each.sorted_instances():
            if sop is not None and instance.sop_instance_uid != sop:
                continue
            syntax = instance.transfer_syntax_uid or "1.2.840.10008.1.2.1"
            chosen.append((each.series_instance_uid, instance.sop_instance_uid, syntax))
    return chosen


def _retrieve(study: str, series: str | None = None, sop: str | None = None) -> Response:
    _uids(study, series, sop)
    accept = parse_accept(request.headers.get("Accept"))
    if wado.wants_zip(accept):
        snapshot = reads().snapshot(study)
        pairs = [(s, i) for s, i, _ in _selected(snapshot, series, sop)]
        zipped = stream_with_context(wado.iter_zip(snapshot, pairs))
        response = Response(zipped, mimetype="application/zip")
        response.headers["Content-Disposition"] = f'attachment; filename="{study}.zip"'
        return response
    syntax = wado.wanted_syntax(accept)
    snapshot = reads().snapshot(study)
    chosen = _selected(snapshot, series, sop)
    for _, _, stored in chosen:
        wado.check_transcodable(stored, syntax)
    boundary = multipart.new_boundary()
    templates = context.document_cache()  # the makers run on other threads
    if syntax is None:
        sized = _sized_body(snapshot, chosen, boundary, templates)
        if sized is not None:
            return sized

    def maker(series_uid: str, sop_uid: str) -> multipart.PartMaker:
        def make() -> tuple[str, bytes | list[bytes]]:
            body = wado.instance_part10(snapshot, series_uid, sop_uid, syntax, templates)
            return DICOM, body

        return make

    makers = (maker(s, i) for s, i, _ in chosen)
    body = stream_with_context(multipart.iter_body(boundary, makers))
    return Response(body, content_type=multipart.content_type(boundary, DICOM, syntax))


#: Mean part size from which cheaply checked parts are still read one ahead.
LARGE_PART = 256 * 1024


def _sized_body(
    snapshot: Snapshot, chosen: list[tuple[str, str, str]], boundary: str, templates: DocumentCache
) -> Response | None:
    """Instances as stored, with a Content-Length, when every one has a content-free
    Part-10 template (None otherwise: the body is then sent chunked).

    Clients read a body of known length far more cheaply than a chunked one
    (http.client: 0.04 s vs 0.27 s of CPU for a 150 MB study), and can show progress.
    """
    plans = []
    for series_uid, sop_uid, _ in chosen:
        template = wado.part10_template_of(snapshot, series_uid, sop_uid, templates)
        if template is None or not template.content_free:
            return None
        plans.append((template, template.length(snapshot.item_size)))

    def maker(template: part10_template.Template, length: int) -> multipart.PartMaker:
        def make() -> tuple[str, bytes | list[bytes]]:
            pieces = template.fill(snapshot.read_item)
            if pieces is None or sum(len(piece) for piece in pieces) != length:
                # Cannot happen for a content-free template (sizes are checked
                # as items are read); a body that disagrees with its announced
                # length must not end as if it were well formed.
                raise OSError("an instance's Part-10 file differs from its announced length")
            return DICOM, pieces

        return make

    total = multipart.body_length(boundary, [(DICOM, length) for _, length in plans])
    makers = (maker(template, length) for template, length in plans)
    # Items not yet checked in this process are read (SHA-256, off the GIL) by
    # four threads ahead of the send. Items already checked once (a cheap
    # checksum) are read inline when parts are small: a hand-over per part
    # costs more than the read. Large ones are read one part ahead on one
    # thread, so a read overlaps with the previous part's socket writes
    # (300 x 512 KB CT, load 4-5, docs/dicomweb.md: a small gain, within noise).
    cheap = snapshot.handle.cheaply_checked_items()
    inline = all(bid in cheap for template, _ in plans for bid in template.bids())
    large = total >= LARGE_PART * max(len(plans), 1)
    ahead = (1 if large else 0) if inline else 4
    body = stream_with_context(multipart.iter_body(boundary, makers, ahead=ahead))
    response = Response(body, content_type=multipart.content_type(boundary, DICOM))
    response.content_length = total
    return response


@blueprint.get("/studies/<study>")
def retrieve_study(study: str) -> Response:
    return _retrieve(study)


@blueprint.get("/studies/<study>/series/<series>")
def retrieve_series(study: str, series: str) -> Response:
    return _retrieve(study, series)


@blueprint.get("/studies/<study>/series/<series>/instances/<sop>")
def retrieve_instance(study: str, series: str, sop: str) -> Response:
    return _retrieve(study, series, sop)


# --- WADO-RS: metadata --------------------------------------------------------------


def _metadata(study: str, series: str | None = None, sop: str | None = None) -> Response:
    _json_accepted()
    _uids(study, series, sop)
    snapshot = reads().snapshot(study)
    _selected(snapshot, series, sop)
    base = bulk_base(study)
    # A committed version never changes: its JSON is kept in the app's
    # bounded document cache, keyed by version, selection and URL base.
    key = (study, snapshot.version, "dicomweb-metadata", f"{series}/{sop} {base}", False)

    def build() -> bytes:
        return "".join(wado.iter_metadata(snapshot, base, series, sop)).encode("utf-8")

    body = context.document_cache().get_or_build(key, build)
    response = Response(body, mimetype=DICOM_JSON)
    # The version's ETag: a viewer revalidating gets a 304 until something is committed.
    response.headers["ETag"] = snapshot.handle.etag
    response.headers["Cache-Control"] = "no-cache"
    response.make_conditional(request)  # turns it into a 304 in place when it matches
    return response


@blueprint.get("/studies/<study>/metadata")
def study_metadata(study: str) -> Response:
    return _metadata(study)


@blueprint.get("/studies/<study>/series/<series>/metadata")
def series_metadata(study: str, series: str) -> Response:
    return _metadata(study, series)


@blueprint.get("/studies/<study>/series/<series>/instances/<sop>/metadata")
def instance_metadata(study: str, series: str, sop: str) -> Response:
    return _metadata(study, series, sop)


# --- WADO-RS: frames and bulk data ------------------------------------------------------------


@blueprint.get("/studies/<study>/series/<series>/instances/<sop>/frames/<frames>")
def retrieve_frames(study: str, series: str, sop: str, frames: str) -> Response:
    _uids(study, series, sop)
    accept = parse_accept(request.headers.get("Accept"))
    snapshot = reads().snapshot(study)
    series_obj, instance = snapshot.instance(series, sop)
    layout = pixel_layout(
        wado.effective(snapshot, series_obj, instance), instance.transfer_syntax_uid
    )
    numbers = parse_frame_list(frames, layout.frame_count)
    part_type, decode, syntax = wado.frame_choice(accept, layout)
    boundary = multipart.new_boundary()
    typed = f"{part_type}; transfer-syntax={syntax}"

    def maker(number: int) -> multipart.PartMaker:
        return lambda: (typed, wado.frame_body(snapshot, layout, number, decode))

    body = stream_with_context(multipart.iter_body(boundary, (maker(n) for n in numbers)))
    return Response(body, content_type=multipart.content_type(boundary, part_type, syntax))


def _parse_range(header: str, size: int) -> tuple[int, int]:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` as (start, end exclusive)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        raise RequestedRangeNotSatisfiable(description="only one bytes=a-b range is supported")
    first, dash, last = spec.strip().partition("-")
    try:
        if not dash:
            raise ValueError
        if first == "":
            count = int(last)
            start, end = max(0, size - count), size
        else:
            start = int(first)
            end = int(last) + 1 if last else size
    except ValueError:
        raise RequestedRangeNotSatisfiable(description=f"bad Range {header!r}") from None
    end = min(end, size)
    if start < 0 or start >= end:
        raise RequestedRangeNotSatisfiable(
            description=f"range {header!r} is outside the {size} bytes", length=size
        )
    return start, end


def _parse_bids(text: str) -> list[int]:
    first, dash, last = text.partition("-")
    if len(text) > 40:
        raise InvalidInput(f"bad bulk data reference {text[:40]!r}")
    low = parse_int(first, "bulk data reference", maximum=MAX_BID)
    high = parse_int(last, "bulk data reference", maximum=MAX_BID) if dash else low
    if high < low or high - low > 100000:
        raise InvalidInput(f"bad bulk data range {text!r}")
    return list(range(low, high + 1))


@blueprint.get("/studies/<study>/bulkdata/<bids>")
def retrieve_bulkdata(study: str, bids: str) -> Response:
    _uids(study)
    numbers = _parse_bids(bids)
    accept = parse_accept(request.headers.get("Accept"))
    snapshot = reads().snapshot(study)
    sizes = [snapshot.item_size(bid) for bid in numbers]
    total = sum(sizes)
    wants_multipart = any(e.multipart for e in accept) and not any(
        not e.multipart and type_matches(e.type, OCTET) for e in accept
    )
    if not any(type_matches(e.part_type, OCTET) for e in accept):
        raise NotAcceptable("bulk data is application/octet-stream")
    header = request.headers.get("Range")
    start, end = _parse_range(header, total) if header else (0, total)
    data = _read_span(snapshot, numbers, sizes, start, end)
    status = 206 if header else 200
    if wants_multipart:
        boundary = multipart.new_boundary()
        body = multipart.single_body(boundary, [(OCTET, data)])
        response = Response(
            body, status=status, content_type=multipart.content_type(boundary, OCTET)
        )
    else:
        response = Response(data, status=status, mimetype=OCTET)
    if header:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
    response.headers["Accept-Ranges"] = "bytes"
    return response


def _read_span(
    snapshot: Snapshot, bids: list[int], sizes: list[int], start: int, end: int
) -> bytes:
    out = bytearray()
    offset = 0
    for bid, size in zip(bids, sizes, strict=True):
        lo, hi = max(start - offset, 0), min(end - offset, size)
        if lo < hi:
            out += snapshot.read_item_range(bid, lo, hi)
        offset += size
    return bytes(out)


# --- rendered and thumbnails ------------------------------------------------------------------


def _rendered(
    study: str,
    series: str | None,
    sop: str | None,
    frames: str | None,
    *,
    thumbnail: bool,
) -> Response:
    _uids(study, series, sop)
    options = rendering.parse_options(request.args, thumbnail, settings().thumbnail_size)
    media_type = rendering.choose_media_type(parse_accept(request.headers.get("Accept")))
    if frames is not None and "," in frames:
        options.warnings.append("only the first frame asked for is rendered")
    snapshot = reads().snapshot(study)
    # A version's pixels never change: the picture is kept like a metadata document.
    key = (study, snapshot.version, "dicomweb-rendered", f"{request.full_path} {media_type}", False)

    def build() -> bytes:
        return rendering.render(snapshot, series, sop, frames, media_type, options)

    body = context.document_cache().get_or_build(key, build)
    response = Response(body, mimetype=media_type)
    response.headers["ETag"] = snapshot.handle.etag
    response.headers["Cache-Control"] = "no-cache"
    response.make_conditional(request)
    return _warn(response, options.warnings)


for _kind in ("rendered", "thumbnail"):
    _thumb = _kind == "thumbnail"

    def _study_view(study: str, _t: bool = _thumb) -> Response:
        return _rendered(study, None, None, None, thumbnail=_t)

    def _series_view(study: str, series: str, _t: bool = _thumb) -> Response:
        return _rendered(study, series, None, None, thumbnail=_t)

    def _instance_view(study: str, series: str, sop: str, _t: bool = _thumb) -> Response:
        return _rendered(study, series, sop, None, thumbnail=_t)

    def _frames_view(study: str, series: str, sop: str, frames: str, _t: bool = _thumb) -> Response:
        return _rendered(study, series, sop, frames, thumbnail=_t)

    blueprint.add_url_rule(f"/studies/<study>/{_kind}", f"study_{_kind}", _study_view)
    blueprint.add_url_rule(
        f"/studies/<study>/series/<series>/{_kind}", f"series_{_kind}", _series_view
    )
    blueprint.add_url_rule(
        f"/studies/<study>/series/<series>/instances/<sop>/{_kind}",
        f"instance_{_kind}",
        _instance_view,
    )
    blueprint.add_url_rule(
        f"/studies/<study>/series/<series>/instances/<sop>/frames/<frames>/{_kind}",
        f"frames_{_kind}",
        _frames_view,
    )


# --- STOW-RS --------------------------------------------------------------------------------------


def _stow(study: str | None) -> Response:
    if study is not None:
        _uids(study)
    result = stow.store_body(
        reads(),
        request.headers.get("Content-Type", ""),
        request.stream,
        context.actor("DICOMweb"),
        study_uid=study,
        spool_dir=context.config().spool_dir,
        spool_limits=context.config().component(InputLimits).spool,
    )
    studies = {o.study for o in result.outcomes if o.failure is None and o.study}
    the_study = study or (next(iter(studies)) if len(studies) == 1 else None)
    address = urls()

    def instance_url(outcome: stow.Outcome) -> str:
        return address.instance(
            outcome.study or "", outcome.series or "", outcome.sop_instance or ""
        )

    document = stow.response_document(
        result, address.study(the_study) if the_study else None, instance_url
    )
    response = Response(document, status=result.status, mimetype=DICOM_JSON)
    reasons = [o.reason for o in result.outcomes if o.failure is not None and o.reason]
    return _warn(response, reasons[:10])


@blueprint.post("/studies")
def store_instances() -> Response:
    return _stow(None)


@blueprint.post("/studies/<study>")
def store_study_instances(study: str) -> Response:
    return _stow(study)
