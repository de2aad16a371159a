"""WADO-RS (PS3.18 10.4): instances, metadata, frames and bulk data of a snapshot.

Metadata is written from the normalized MINT metadata only: the study,
series and normalized attributes of a series are rendered to JSON once and
shared by every instance of the series (an instance that overrides one of
them gets its own merged object), so a 1,000-instance series costs one pass
over the distinct attributes, and no binary item is read.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from pydicom.uid import UID
from werkzeug.exceptions import NotAcceptable

from mintstore.convert.to_dicom import is_native_syntax
from mintstore.errors import NotSupported
from mintstore.model import Attributes, Instance, Series
from mintstore.render import native_bytes

from ..doc_cache import DocumentCache
from . import dicom_json, part10_template
from .media import (
    DICOM,
    EXPLICIT_BE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    NATIVE_SYNTAXES,
    OCTET,
    MediaRange,
    frame_media_type,
    type_matches,
)
from .pixels import PixelLayout
from .reads import Snapshot

AVAILABLE_SYNTAX_TAG = 0x00083002


def _without_meta(attributes: Attributes) -> Attributes:
    return {tag: a for tag, a in attributes.items() if tag >> 16 != 0x0002}


def _syntax_entry(instance: Instance) -> str:
    if not instance.transfer_syntax_uid:
        return ""
    value = json.dumps([instance.transfer_syntax_uid])
    return f'"{AVAILABLE_SYNTAX_TAG:08X}":{{"vr":"UI","Value":{value}}}'


def iter_metadata(
    snapshot: Snapshot, bulk_base: str, series_uid: str | None = None, sop_uid: str | None = None
) -> Iterator[str]:
    """The DICOM JSON array of the instances selected, in text chunks."""
    study = snapshot.study
    yield "["
    first = True
    for series in study.sorted_series():
        if series_uid is not None and series.series_instance_uid != series_uid:
            continue
        shared: Attributes = {}
        shared.update(study.attributes)
        shared.update(series.attributes)
        shared.update(series.normalized_attributes)
        shared = _without_meta(shared)
        shared_text = dicom_json.entries((shared[t] for t in sorted(shared)), bulk_base)
        for instance in series.sorted_instances():
            if sop_uid is not None and instance.sop_instance_uid != sop_uid:
                continue
            own = _without_meta(instance.attributes)
            if own.keys() & shared.keys():
                merged = {**shared, **own}
                body = dicom_json.entries((merged[t] for t in sorted(merged)), bulk_base)
                parts = [body]
            else:
                own_text = dicom_json.entries((own[t] for t in sorted(own)), bulk_base)
                parts = [shared_text, own_text]
            if AVAILABLE_SYNTAX_TAG not in own and AVAILABLE_SYNTAX_TAG not in shared:
                parts.append(_syntax_entry(instance))
            yield ("" if first else ",") + dicom_json.dataset_object(parts)
            first = False
    yield "]"


# --- whole instances ---------------------------------------------------------------------


def wanted_syntax(accept: list[MediaRange]) -> str | None:
    """The transfer syntax asked for instances (None: as stored); 406 if none fits."""
    for entry in accept:
        part = entry.part_type if entry.multipart else entry.type
        if not (type_matches(part, DICOM) or part == DICOM):
            continue
        syntax = entry.transfer_syntax
        return None if syntax in (None, "*") else syntax
    raise NotAcceptable(
        'instances are sent as multipart/related; type="application/dicom" '
        "(optionally with transfer-syntax=...)"
    )


class ChunkSink(io.RawIOBase):
    """A write-only file that keeps the written pieces instead of copying them.

    The Part-10 writer hands over the pixel data as one large bytes value;
    keeping it by reference saves two copies of every instance on the way
    to the socket. Small pieces are joined so the body is not sent in
    hundreds of tiny chunks.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[bytes] = []
        self._small: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        piece = data if isinstance(data, bytes) else bytes(data)
        if len(piece) >= 65536:
            self._flush_small()
            self.pieces.append(piece)
        else:
            self._small.append(piece)
        self.size += len(piece)
        return len(piece)

    def tell(self) -> int:
        return self.size

    def _flush_small(self) -> None:
        if self._small:
            self.pieces.append(b"".join(self._small))
            self._small = []

    def chunks(self) -> list[bytes]:
        self._flush_small()
        return self.pieces

    def take(self) -> list[bytes]:
        """The pieces written since the last ``take``."""
        taken = self.chunks()
        self.pieces = []
        return taken


def wants_zip(accept: list[MediaRange]) -> bool:
    """``application/zip`` asked for before any DICOM media type."""
    for entry in accept:
        if not entry.multipart and entry.type == "application/zip":
            return True
        if entry.multipart or type_matches(entry.type, DICOM):
            return False
    return False


def iter_zip(snapshot: Snapshot, chosen: list[tuple[str, str]]) -> Iterator[bytes]:
    """A ZIP of the instances as stored, one instance in memory at a time."""
    sink = ChunkSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for series_uid, sop_uid in chosen:
            with archive.open(f"{series_uid}/{sop_uid}.dcm", "w", force_zip64=True) as member:
                for piece in instance_part10(snapshot, series_uid, sop_uid, None):
                    member.write(piece)
            yield from sink.take()
    yield from sink.take()


def instance_part10(
    snapshot: Snapshot,
    series_uid: str,
    sop_uid: str,
    syntax: str | None,
    templates: DocumentCache | None = None,
) -> list[bytes]:
    """One instance as a Part-10 file (in pieces), as stored or in ``syntax``.

    As stored and with ``templates`` (the app's document cache), the bytes
    around the binary items are built once per version and kept there
    (:mod:`.part10_template`); the items are read and checked on every call.
    """
    if syntax is None and templates is not None:
        pieces = _from_template(snapshot, series_uid, sop_uid, templates)
        if pieces is not None:
            return pieces
    out = ChunkSink()
    dataset = snapshot.dataset(series_uid, sop_uid)
    stored = str(dataset.file_meta.get("TransferSyntaxUID", EXPLICIT_LE))
    if syntax is None or syntax == stored:
        snapshot.write_part10(dataset, out)  # type: ignore[arg-type]
        return out.chunks()
    buffer = io.BytesIO()
    _transcode(dataset, stored, syntax).save_as(
        buffer, enforce_file_format=True, implicit_vr=syntax == IMPLICIT_LE, little_endian=True
    )
    return [buffer.getvalue()]


def part10_template_of(
    snapshot: Snapshot, series_uid: str, sop_uid: str, templates: DocumentCache
) -> part10_template.Template | None:
    """The instance's Part-10 template (built once per version; no item is read)."""

    def rebuild(read_item: Callable[[int], bytes]) -> list[bytes]:
        out = ChunkSink()
        dataset = snapshot.dataset(series_uid, sop_uid, read_item)
        snapshot.write_part10(dataset, out)  # type: ignore[arg-type]
        return out.chunks()

    def build() -> bytes:
        _, instance = snapshot.instance(series_uid, sop_uid)
        syntax = instance.transfer_syntax_uid
        content_free = syntax is not None and is_native_syntax(syntax)
        return part10_template.build(rebuild, snapshot.item_size, content_free)

    key = (
        snapshot.study_uid,
        snapshot.version,
        "part10-template",
        f"{series_uid}/{sop_uid}",
        False,
    )
    encoded = templates.get_or_build(key, build)
    return part10_template.decode(encoded) if encoded else None


def _from_template(
    snapshot: Snapshot, series_uid: str, sop_uid: str, templates: DocumentCache
) -> list[bytes] | None:
    template = part10_template_of(snapshot, series_uid, sop_uid, templates)
    return None if template is None else template.fill(snapshot.read_item)


def check_transcodable(stored: str, syntax: str | None) -> None:
    """406 early, before a response starts, for a syntax that cannot be made."""
    if syntax is None or syntax == stored:
        return
    if syntax not in (IMPLICIT_LE, EXPLICIT_LE):
        raise NotAcceptable(
            f"cannot transcode {stored} to {syntax}: only to 1.2.840.10008.1.2 or "
            "1.2.840.10008.1.2.1, or as stored (transfer-syntax=*)"
        )


def _transcode(dataset: Any, stored: str, syntax: str) -> Any:
    check_transcodable(stored, syntax)
    if stored not in NATIVE_SYNTAXES:
        try:
            dataset.decompress()
        except Exception as exc:  # the decoders raise their own error types
            raise NotSupported(f"no decoder for {stored}: {exc}") from exc
    dataset.file_meta.TransferSyntaxUID = UID(syntax)
    return dataset


# --- frames -------------------------------------------------------------------------------


def frame_choice(accept: list[MediaRange], layout: PixelLayout) -> tuple[str, bool, str]:
    """(media type of the parts, decode?, transfer syntax they are in) for ``layout``.

    Native frames are sent as stored, except big-endian ones, which are
    decoded to little endian unless the client asks for them as stored.
    """
    stored_type = frame_media_type(layout.syntax)
    native = layout.syntax in NATIVE_SYNTAXES
    big_endian = layout.syntax == EXPLICIT_BE
    for entry in accept:
        part = entry.part_type if entry.multipart else entry.type
        syntax = entry.transfer_syntax
        if native:
            if not type_matches(part, OCTET):
                continue
            if big_endian and syntax in ("*", EXPLICIT_BE):
                return OCTET, False, EXPLICIT_BE
            if syntax in (None, "*", EXPLICIT_LE, layout.syntax):
                return OCTET, big_endian, EXPLICIT_LE
            continue
        if syntax in ("*", layout.syntax) and (type_matches(part, stored_type) or part == OCTET):
            return stored_type, False, layout.syntax
        if syntax is None and part != OCTET and type_matches(part, stored_type):
            return stored_type, False, layout.syntax
        if part == OCTET and syntax in (None, EXPLICIT_LE):
            return OCTET, True, EXPLICIT_LE
    raise NotAcceptable(
        f"frames of this instance are {stored_type} (transfer syntax {layout.syntax}); "
        f'ask for multipart/related; type="{stored_type}" or '
        'type="application/octet-stream" (decoded)'
    )


def frame_body(snapshot: Snapshot, layout: PixelLayout, number: int, decode: bool) -> bytes:
    data = snapshot.read_item(layout.bid(number))
    if not decode:
        return data
    return native_bytes(layout.spec, data)


def effective(snapshot: Snapshot, series: Series, instance: Instance) -> Attributes:
    merged: Attributes = {}
    merged.update(snapshot.study.attributes)
    merged.update(series.attributes)
    merged.update(series.normalized_attributes)
    merged.update(instance.attributes)
    return merged
