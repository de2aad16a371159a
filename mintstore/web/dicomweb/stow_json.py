"""STOW-RS with DICOM JSON metadata and bulk data parts (PS3.18 10.5.1.2.2).

The request's first part(s) are ``application/dicom+json`` (an array of
datasets); the other parts carry bulk data, named by ``Content-Location``
as the datasets' BulkDataURIs name them. Each dataset becomes a Part-10
instance (file meta from its SOP Class/Instance UIDs; Explicit VR Little
Endian unless its pixel data part names another ``transfer-syntax``, in
which case the part is one encapsulated frame), then takes the same path
as a Part-10 part.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian
from werkzeug.http import parse_options_header

from mintstore.errors import InvalidInput
from mintstore.multipart.reader import Headers, Part

from .media import DICOM, DICOM_JSON

#: The JSON part is parsed in memory: bounded.
MAX_JSON_BYTES = 64 * 1024**2


@dataclass
class BulkPart:
    data: bytes
    media_type: str
    transfer_syntax: str | None


def _bulk_parts(parts: list[Part]) -> dict[str, BulkPart]:
    found: dict[str, BulkPart] = {}
    for part in parts:
        location = part.headers.get("Content-Location") or part.headers.get("Content-ID", "")
        location = location.strip().strip("<>")
        if not location:
            raise InvalidInput("a bulk data part has no Content-Location")
        media, options = parse_options_header(part.headers.get("Content-Type", ""))
        found[location] = BulkPart(part.body.read(), media.lower(), options.get("transfer-syntax"))
    return found


def _resolver(
    bulk: dict[str, BulkPart], used: dict[str, BulkPart]
) -> Callable[[str, str, str], bytes]:
    def resolve(tag: str, vr: str, uri: str) -> bytes:
        part = bulk.get(uri)
        if part is None:
            # a relative reference may name the part by its last path segment
            matches = [p for key, p in bulk.items() if key.endswith(uri) or uri.endswith(key)]
            if len(matches) != 1:
                raise InvalidInput(f"no bulk data part for BulkDataURI {uri!r}")
            part = matches[0]
        used[tag.upper()] = part
        return part.data

    return resolve


def _part10(metadata: object, bulk: dict[str, BulkPart]) -> bytes:
    if not isinstance(metadata, dict):
        raise InvalidInput("each DICOM JSON dataset must be an object")
    used: dict[str, BulkPart] = {}
    try:
        ds = Dataset.from_json(metadata, bulk_data_uri_handler=_resolver(bulk, used))
    except InvalidInput:
        raise
    except Exception as exc:  # pydicom raises several types for malformed JSON datasets
        raise InvalidInput(f"not a DICOM JSON dataset: {exc}") from exc
    for keyword in ("SOPClassUID", "SOPInstanceUID"):
        if keyword not in ds:
            raise InvalidInput(f"the dataset has no {keyword}")
    syntax = ExplicitVRLittleEndian
    pixel = used.get("7FE00010")
    if pixel is not None and pixel.transfer_syntax:
        syntax = UID(pixel.transfer_syntax)
        if syntax.is_compressed:
            vr = ds["PixelData"].VR  # as the client's JSON says (OB is the standard's)
            ds.PixelData = encapsulate([pixel.data], has_bot=False)
            ds["PixelData"].VR = vr
            ds["PixelData"].is_undefined_length = True
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    ds.file_meta = meta
    out = io.BytesIO()
    try:
        ds.save_as(out, enforce_file_format=True, implicit_vr=False, little_endian=True)
    except Exception as exc:  # values pydicom cannot encode
        raise InvalidInput(f"the dataset cannot be written as DICOM: {exc}") from exc
    return out.getvalue()


def json_instances(parts: Iterable[Part]) -> list[Part | InvalidInput]:
    """Each JSON dataset as a Part-10 part, or the reason it could not be made."""
    listed = list(parts)
    metadata_parts = [p for p in listed if p.content_type in (DICOM_JSON, "application/json")]
    bulk = _bulk_parts([p for p in listed if p not in metadata_parts])
    if not metadata_parts:
        raise InvalidInput("the request has no application/dicom+json part")
    made: list[Part | InvalidInput] = []
    for part in metadata_parts:
        if part.size > MAX_JSON_BYTES:
            raise InvalidInput(f"a DICOM JSON part is larger than {MAX_JSON_BYTES} bytes")
        try:
            datasets = json.loads(part.body.read())
        except ValueError as exc:
            raise InvalidInput(f"the DICOM JSON part is not JSON: {exc}") from exc
        if isinstance(datasets, dict):
            datasets = [datasets]
        if not isinstance(datasets, list):
            raise InvalidInput("the DICOM JSON part must be an array of datasets")
        for metadata in datasets:
            try:
                data = _part10(metadata, bulk)
            except InvalidInput as invalid:
                made.append(invalid)
                continue
            made.append(Part(Headers({"Content-Type": DICOM}), io.BytesIO(data), len(data)))
    return made
