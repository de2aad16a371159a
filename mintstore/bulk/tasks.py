"""What runs on the Dask workers: header scans and one study's import.

Every task is idempotent: a scan only reads, and a study import first asks
the store which SOP Instance UIDs the study already holds (its metadata, one
or two GETs) and neither reads nor sends those files again; the rest go
through ``StudyStore.begin_ingest`` and the one commit protocol, so a task
killed half-way and run again (by Dask, or by re-running the command) never
duplicates or loses an instance.

Workers keep one ``StudyStore`` per store URL for their lifetime
(module-level, per process), as a server process would.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from mintstore.adapters import open_store
from mintstore.errors import InvalidInput, MintError, NotFound, StoreError, StudyGone, StudyNotFound
from mintstore.store import Actor, IngestSession, StoreConfig, StudyStore
from mintstore.store.modelops import instance_uids

from .headers import header_uids
from .sources import FileRef, SourceReader

HEADER_BYTES = 64 * 1024

_lock = threading.Lock()
_stores: dict[str, StudyStore] = {}
_readers: dict[int, SourceReader] = {}


def worker_store(url: str, environ: Mapping[str, str], config: StoreConfig) -> StudyStore:
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = StudyStore(open_store(url, environ), config)
            _stores[url] = store
        return store


def _reader(environ: Mapping[str, str]) -> SourceReader:
    with _lock:
        key = id(environ) if environ else 0
        reader = _readers.get(key)
        if reader is None:
            reader = SourceReader(environ)
            _readers[key] = reader
        return reader


@dataclass(frozen=True)
class Scanned:
    """One file's header: its study and instance, or why it cannot be imported."""

    ref: FileRef
    study_uid: str | None = None
    sop_uid: str | None = None
    refused: str | None = None


def _header(data: bytes) -> tuple[str, str]:
    known = header_uids(data)  # the common encodings, without building a dataset
    if known is not None:
        return known
    from pydicom import dcmread

    dataset = dcmread(
        io.BytesIO(data),
        stop_before_pixels=True,
        specific_tags=["StudyInstanceUID", "SOPInstanceUID"],
    )
    study, sop = dataset.get("StudyInstanceUID"), dataset.get("SOPInstanceUID")
    if not study or not sop:
        raise InvalidInput("no StudyInstanceUID or SOPInstanceUID")
    return str(study), str(sop)


def scan_batch(refs: list[FileRef], environ: Mapping[str, str]) -> list[Scanned]:
    """Read the header of each file (the first 64 KiB, the whole file if needed)."""
    from pydicom.errors import InvalidDicomError

    reader = _reader(environ)
    results = []
    for ref in refs:
        try:
            head = reader.read_head(ref, HEADER_BYTES)
            try:
                study, sop = _header(head)
            except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
                if len(head) < HEADER_BYTES:
                    raise
                with reader.open(ref) as stream:  # a header longer than 64 KiB
                    study, sop = _header(stream.read())
            results.append(Scanned(ref, study, sop))
        except InvalidDicomError:
            results.append(Scanned(ref, refused="NotDicom: no Part-10 preamble and prefix"))
        except (EOFError, OSError, ValueError, KeyError, TypeError, NotFound) as exc:
            results.append(Scanned(ref, refused=f"UnreadableHeader: {_reason(exc)}"))
    return results


@dataclass
class StudyOutcome:
    """What one study's import did."""

    study_uid: str
    files: int
    added: int = 0
    skipped: int = 0
    bytes_sent: int = 0
    version: int | None = None
    refused: list[tuple[str, str]] = field(default_factory=list)


def stored_sops(store: StudyStore, study_uid: str) -> set[str]:
    """SOP Instance UIDs the study's head version holds (empty if none / deleted)."""
    try:
        return {sop for _, sop in instance_uids(store.metadata(study_uid))}
    except (StudyNotFound, StudyGone):
        return set()


def ensure_logged(store: StudyStore, study_uid: str) -> int | None:
    """Give the study's head version its change-log entry if a killed run left none.

    An import killed between a commit record and its entry leaves a study
    the index does not show until someone backfills it; the re-run, which
    finds every instance stored and so commits nothing, is that someone
    (a duplicate entry from a still-living writer would be void: the
    marker arbitrates). One GET of the marker when all is well.
    """
    return store.archive_jobs.ensure_logged(study_uid)


def _reason(exc: BaseException) -> str:
    """``Kind: first line of the message`` (the report groups refusals by kind)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}"


def import_studies(
    store_url: str,
    environ: Mapping[str, str],
    config: StoreConfig,
    studies: list[tuple[str, list[tuple[FileRef, str]]]],
    user: str,
) -> list[StudyOutcome]:
    """Ingest a batch of studies, one commit each, through one ingest session.

    A task per batch (not per study) keeps the scheduler's per-task cost
    off small studies, and one session per batch starts its blob-upload
    pool once rather than per study (a pool's threads cost ~5 ms to start,
    measured, a tenth of a small study's ingest). Each study still commits
    on its own as soon as its files are in: a batch killed half-way has
    committed its first studies, and the re-run skips them by SOP UID.
    """
    store = worker_store(store_url, environ, config)
    reader = _reader(environ)
    actor = Actor(user, socket.gethostname())
    with store.begin_ingest() as session:
        return [
            _import_one(store, session, reader, study_uid, files, actor)
            for study_uid, files in studies
        ]


def _import_one(
    store: StudyStore,
    session: IngestSession,
    reader: SourceReader,
    study_uid: str,
    files: list[tuple[FileRef, str]],
    actor: Actor,
) -> StudyOutcome:
    outcome = StudyOutcome(study_uid, files=len(files))
    stored = stored_sops(store, study_uid)
    # Several files may carry one SOP Instance UID (copies, a truncated copy):
    # try them in turn until one is accepted, skip the rest.
    by_sop: dict[str, list[FileRef]] = {}
    for ref, sop in files:
        if sop in stored:
            outcome.skipped += 1
        else:
            by_sop.setdefault(sop, []).append(ref)
    if not by_sop:
        outcome.version = ensure_logged(store, study_uid)
        return outcome
    for refs in by_sop.values():
        for position, ref in enumerate(refs):
            try:
                with reader.open(ref) as stream:
                    session.add_part10(stream)
            except StoreError:
                raise  # the store failed: the task fails (and is retried); nothing refused
            except (MintError, OSError, EOFError, ValueError) as exc:
                outcome.refused.append((ref.name, _reason(exc)))
                continue
            outcome.added += 1
            outcome.bytes_sent += ref.size
            outcome.skipped += len(refs) - position - 1
            break
    for result in session.commit(actor):
        if result.study_uid == study_uid:
            outcome.version = result.version
    return outcome
