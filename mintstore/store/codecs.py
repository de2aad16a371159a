"""The real collaborators behind the engine's two seams (see config.py).

The metadata codec is gzipped GPB from ``mintstore.formats``; the converter
is ``mintstore.convert``. Both are imported lazily so importing the engine
stays cheap.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from mintstore.errors import InvalidMetadata
from mintstore.model import Attribute, Attributes, Encapsulation, Instance, Item, Series, Study

from .config import Converter, MetadataCodec


class ModelJsonCodec:
    """Gzipped JSON of the model, field for field (interim until GPB is wired)."""

    name = "model-json.gz"

    def encode(self, study: Study) -> bytes:
        document = {
            "uid": study.study_instance_uid,
            "type": study.type,
            "version": study.version,
            "attributes": _attrs_out(study.attributes),
            "series": [
                {
                    "uid": series.series_instance_uid,
                    "exclude": series.exclude,
                    "attributes": _attrs_out(series.attributes),
                    "normalized": _attrs_out(series.normalized_attributes),
                    "instances": [
                        {
                            "uid": inst.sop_instance_uid,
                            "ts": inst.transfer_syntax_uid,
                            "exclude": inst.exclude,
                            "attributes": _attrs_out(inst.attributes),
                        }
                        for inst in series.sorted_instances()
                    ],
                }
                for series in study.sorted_series()
            ],
        }
        raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        return gzip.compress(raw, mtime=0)

    def decode(self, data: bytes) -> Study:
        try:
            document = json.loads(gzip.decompress(data))
            study = Study(document["uid"], document["type"], document["version"])
            study.attributes = _attrs_in(document["attributes"])
            for sdoc in document["series"]:
                series = Series(sdoc["uid"], exclude=sdoc["exclude"])
                series.attributes = _attrs_in(sdoc["attributes"])
                series.normalized_attributes = _attrs_in(sdoc["normalized"])
                for idoc in sdoc["instances"]:
                    series.instances[idoc["uid"]] = Instance(
                        idoc["uid"], idoc["ts"], _attrs_in(idoc["attributes"]), idoc["exclude"]
                    )
                study.series[series.series_instance_uid] = series
            return study
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidMetadata(f"unreadable metadata document: {exc}") from exc


def _attrs_out(attributes: Attributes) -> list[dict[str, Any]]:
    out = []
    for tag in sorted(attributes):
        a = attributes[tag]
        doc: dict[str, Any] = {"tag": a.tag, "vr": a.vr}
        if a.val is not None:
            doc["val"] = a.val
        if a.data is not None:
            doc["data"] = base64.b64encode(a.data).decode()
        if a.bid is not None:
            doc["bid"] = a.bid
            doc["bsize"] = a.bsize
        if a.framecount is not None:
            doc["framecount"] = a.framecount
        if a.items is not None:
            doc["items"] = [_attrs_out(item.attributes) for item in a.items]
        if a.encapsulation is not None:
            doc["encap"] = {
                "bot": base64.b64encode(a.encapsulation.offset_table).decode(),
                "frames": a.encapsulation.frame_fragments,
            }
        if a.exclude:
            doc["exclude"] = True
        out.append(doc)
    return out


def _attrs_in(docs: list[dict[str, Any]]) -> Attributes:
    attributes: Attributes = {}
    for doc in docs:
        encap = doc.get("encap")
        attributes[doc["tag"]] = Attribute(
            tag=doc["tag"],
            vr=doc["vr"],
            val=doc.get("val"),
            data=base64.b64decode(doc["data"]) if "data" in doc else None,
            bid=doc.get("bid"),
            bsize=doc.get("bsize"),
            framecount=doc.get("framecount"),
            items=[Item(_attrs_in(i)) for i in doc["items"]] if "items" in doc else None,
            encapsulation=Encapsulation(base64.b64decode(encap["bot"]), encap["frames"])
            if encap is not None
            else None,
            exclude=bool(doc.get("exclude", False)),
        )
    return attributes


def default_codec() -> MetadataCodec:
    return ModelJsonCodec()


def default_converter() -> Converter:
    from .conversion import DicomConverter

    return DicomConverter()
