"""The small JSON documents the engine writes: commit records, item tables,
change-log entries and index rows.

Every document is deterministic JSON (sorted keys, no whitespace) so two
writers producing the same content produce the same bytes, and so another
tool can read them without mintstore.
"""

from __future__ import annotations

import gzip
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, cast

from mintstore.errors import IntegrityError
from mintstore.model import Attribute, Study

from .types import Operation

ItemTable = dict[int, tuple[str, int]]
"""bid -> (blob digest, size) of every binary item a version references."""


def dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def loads(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise IntegrityError(f"{what} is not valid JSON: {exc}") from exc


def encode_item_table(table: ItemTable) -> bytes:
    rows = [[bid, digest, size] for bid, (digest, size) in sorted(table.items())]
    return gzip.compress(dumps({"items": rows}), mtime=0)


def decode_item_table(data: bytes) -> ItemTable:
    try:
        rows = json.loads(gzip.decompress(data))["items"]
        return {int(bid): (str(digest), int(size)) for bid, digest, size in rows}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"unreadable item table: {exc}") from exc


@dataclass(frozen=True)
class IndexRow:
    """The searchable summary of one study version (a row of the manifests)."""

    study_uid: str
    version: int
    last_modified: str
    deleted: bool = False
    patient_id: str | None = None
    patient_id_issuer: str | None = None
    accession_number: str | None = None
    accession_number_issuer: str | None = None
    modalities: tuple[str, ...] = ()
    study_date: str | None = None
    study_time: str | None = None
    instances: int = 0
    #: For study-level QIDO-RS / C-FIND answers (added in format 1, optional:
    #: rows written before them read back as None / 0).
    patient_name: str | None = None
    study_description: str | None = None
    referring_physician_name: str | None = None
    study_id: str | None = None
    series: int = 0

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["modalities"] = list(self.modalities)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> IndexRow:
        """Build a row; unknown fields (from a newer writer) are ignored."""
        values = dict(doc)
        values["modalities"] = tuple(values.get("modalities") or ())
        try:
            return cls(**values)
        except TypeError:
            return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class CommitRecord:
    """``studies/<key>/log/<version>.json``: everything one version is made of."""

    study_uid: str
    version: int
    operation: Operation
    time: datetime
    user: str | None
    host: str | None
    codec: str
    metadata: str | None
    items: str | None
    payload: str | None
    next_bid: int
    index: IndexRow
    previous: int | None = None
    type: str = "DICOM"
    #: Random and unique to the writer that made this record, so that no other
    #: writer can ever produce the same bytes: reading a record back and finding
    #: it byte-identical proves it is one's own (a create whose answer was lost,
    #: see mintstore.adapters.lost_answers). None in records written before it.
    writer: str | None = field(default_factory=lambda: secrets.token_hex(8))

    def to_bytes(self) -> bytes:
        extra = {"writer": self.writer} if self.writer is not None else {}
        return dumps(
            {
                **extra,
                "format": 1,
                "study_uid": self.study_uid,
                "version": self.version,
                "previous": self.previous,
                "operation": self.operation,
                "time": self.time.isoformat(),
                "user": self.user,
                "host": self.host,
                "type": self.type,
                "codec": self.codec,
                "metadata": self.metadata,
                "items": self.items,
                "payload": self.payload,
                "next_bid": self.next_bid,
                "index": self.index.to_json(),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> CommitRecord:
        doc = loads(data, "commit record")
        try:
            return cls(
                study_uid=doc["study_uid"],
                version=int(doc["version"]),
                previous=doc.get("previous"),
                operation=cast(Operation, doc["operation"]),
                time=datetime.fromisoformat(doc["time"]),
                user=doc.get("user"),
                host=doc.get("host"),
                type=doc.get("type", "DICOM"),
                codec=doc["codec"],
                metadata=doc.get("metadata"),
                items=doc.get("items"),
                payload=doc.get("payload"),
                next_bid=int(doc["next_bid"]),
                index=IndexRow.from_json(doc["index"]),
                writer=doc.get("writer"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"malformed commit record: {exc}") from exc

    def referenced_digests(self) -> list[str]:
        return [d for d in (self.metadata, self.items, self.payload) if d is not None]


@dataclass(frozen=True)
class SeqEntry:
    """``changes/seq/<n>.json``: one system change, pointing at a commit."""

    sequence: int
    study_key: str
    record: CommitRecord
    #: Random per entry written, like ``CommitRecord.writer``: a backfiller and a
    #: slow writer publishing the same commit at the same number never write the
    #: same bytes, so a read-back that finds our bytes proves the entry is ours.
    writer: str | None = field(default_factory=lambda: secrets.token_hex(8), compare=False)

    def to_bytes(self) -> bytes:
        extra = {"writer": self.writer} if self.writer is not None else {}
        return dumps(
            {
                **extra,
                "sequence": self.sequence,
                "study_key": self.study_key,
                "version": self.record.version,
                "commit": json.loads(self.record.to_bytes()),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SeqEntry:
        doc = loads(data, "change-log entry")
        try:
            record = CommitRecord.from_bytes(dumps(doc["commit"]))
            return cls(
                int(doc["sequence"]), str(doc["study_key"]), record, writer=doc.get("writer")
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"malformed change-log entry: {exc}") from exc


# --- the index row of a study -----------------------------------------------------

PATIENT_ID = 0x00100020
ISSUER_OF_PATIENT_ID = 0x00100021
ACCESSION_NUMBER = 0x00080050
ISSUER_OF_ACCESSION_SEQ = 0x00080051
LOCAL_NAMESPACE_ENTITY_ID = 0x00400031
UNIVERSAL_ENTITY_ID = 0x00400032
MODALITY = 0x00080060
MODALITIES_IN_STUDY = 0x00080061
STUDY_DATE = 0x00080020
STUDY_TIME = 0x00080030
PATIENT_NAME = 0x00100010
STUDY_DESCRIPTION = 0x00081030
REFERRING_PHYSICIAN_NAME = 0x00080090
STUDY_ID = 0x00200010


def _first(study: Study, tag: int) -> Attribute | None:
    """The study-level attribute, else the first instance-level one (lossless rule)."""
    for attributes in study.iter_attribute_sets():
        found = attributes.get(tag)
        if found is not None:
            return found
    return None


def _text(study: Study, tag: int) -> str | None:
    found = _first(study, tag)
    if found is None or found.val is None:
        return None
    return found.val.strip() or None


def _accession_issuer(study: Study) -> str | None:
    sequence = _first(study, ISSUER_OF_ACCESSION_SEQ)
    for item in (sequence.items or []) if sequence is not None else []:
        for tag in (LOCAL_NAMESPACE_ENTITY_ID, UNIVERSAL_ENTITY_ID):
            value = item.attributes.get(tag)
            if value is not None and value.val and value.val.strip():
                return value.val.strip()
    return None


def index_row(study: Study, version: int, when: datetime) -> IndexRow:
    """What search needs of one study version, taken from the real attributes."""
    modalities: set[str] = set()
    for attributes in study.iter_attribute_sets():
        for tag in (MODALITY, MODALITIES_IN_STUDY):
            value = attributes.get(tag)
            if value is not None and value.val:
                modalities.update(m.strip() for m in value.val.split("\\") if m.strip())
    return IndexRow(
        study_uid=study.study_instance_uid,
        version=version,
        last_modified=when.isoformat(),
        patient_id=_text(study, PATIENT_ID),
        patient_id_issuer=_text(study, ISSUER_OF_PATIENT_ID),
        accession_number=_text(study, ACCESSION_NUMBER),
        accession_number_issuer=_accession_issuer(study),
        modalities=tuple(sorted(modalities)),
        study_date=_text(study, STUDY_DATE),
        study_time=_text(study, STUDY_TIME),
        instances=study.instance_count,
        patient_name=_text(study, PATIENT_NAME),
        study_description=_text(study, STUDY_DESCRIPTION),
        referring_physician_name=_text(study, REFERRING_PHYSICIAN_NAME),
        study_id=_text(study, STUDY_ID),
        series=len(study.series),
    )
