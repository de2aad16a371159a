"""Where everything lives in the bucket: the one place that spells keys.

Keeping every key format here means docs/storage.md can be checked against a
single module, and a reader walking a bucket by hand sees exactly these names.
No key contains a UID or any other value taken from a study: a study is
addressed by the SHA-256 of its Study Instance UID (no PHI in keys).
"""

from __future__ import annotations

import hashlib
import re

FORMAT_VERSION = 1
HASH_ALGORITHM = "sha256"
DESCRIPTOR_KEY = "mintstore.json"

BLOB_PREFIX = "blobs/sha256/"
STUDIES_PREFIX = "studies/"
SEQ_PREFIX = "changes/seq/"
#: Change-log entries per folder of ``changes/seq/``: no listing level (and no
#: file-store directory) ever holds more than this many entries.
SEQ_FOLDER_SIZE = 10_000
INDEX_PREFIX = "index/"
MANIFEST_PREFIX = "index/manifest/"
PARTITION_PREFIX = "index/part/"
CLAIM_PREFIX = "index/claim/"
JOBS_PREFIX = "jobs/"

_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(value: str) -> bool:
    """True for a lowercase hex SHA-256 digest (the only blob name we accept)."""
    return bool(_DIGEST.fullmatch(value))


def study_key(study_uid: str) -> str:
    """The study's directory name: hex SHA-256 of the UID, so keys carry no PHI."""
    return hashlib.sha256(study_uid.encode("ascii")).hexdigest()


def blob_key(digest: str) -> str:
    """Content-addressed key, fanned out twice so no listing level gets huge."""
    return f"{BLOB_PREFIX}{digest[:2]}/{digest[2:4]}/{digest}"


def digest_of_blob_key(key: str) -> str | None:
    """Inverse of :func:`blob_key` (None for anything else under blobs/)."""
    name = key.rsplit("/", 1)[-1]
    return name if key == blob_key(name) and is_digest(name) else None


def study_prefix(skey: str) -> str:
    return f"{STUDIES_PREFIX}{skey}/"


def log_prefix(skey: str) -> str:
    return f"{STUDIES_PREFIX}{skey}/log/"


def log_key(skey: str, version: int) -> str:
    """Commit record of one version; CREATE of this key is the commit point."""
    return f"{log_prefix(skey)}{version:012d}.json"


def version_of_log_key(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1]
    if not name.endswith(".json") or not name[:-5].isdigit():
        return None
    return int(name[:-5])


def seq_marker_key(skey: str, version: int) -> str:
    """Names the one valid system-change entry of a version (created once)."""
    return f"{STUDIES_PREFIX}{skey}/seq/{version:012d}"


def lock_prefix(skey: str) -> str:
    return f"{STUDIES_PREFIX}{skey}/lock/"


def lease_key(skey: str, generation: int) -> str:
    return f"{lock_prefix(skey)}{generation:012d}.json"


def release_key(skey: str, generation: int) -> str:
    return f"{lock_prefix(skey)}{generation:012d}.released"


def seq_key(number: int) -> str:
    """A system change-log entry; numbers start at 1 and have no gaps.

    Entries are grouped in folders of :data:`SEQ_FOLDER_SIZE` so that no
    directory (file store) or listing level grows with the history.
    """
    return f"{SEQ_PREFIX}{number // SEQ_FOLDER_SIZE:012d}/{number:016d}.json"


def legacy_seq_key(number: int) -> str:
    """Where mintstore up to 8776e24 kept entry ``number``: flat, one folder for all.

    Read only by ``mintstore migrate`` (mintstore.store.migration).
    """
    return f"{SEQ_PREFIX}{number:016d}.json"


#: Written by ``mintstore migrate`` once the old entries are copied and the
#: index rebuilt: a resumed migration then only finishes deleting old keys.
MIGRATION_KEY = "changes/migrated.json"


def number_of_seq_key(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1]
    if not name.endswith(".json") or not name[:-5].isdigit():
        return None
    return int(name[:-5])


def manifest_key(generation: int) -> str:
    """Index manifest ``generation`` (created once; the next one supersedes it)."""
    return f"{MANIFEST_PREFIX}{generation:016d}.json"


def generation_of_manifest_key(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1]
    stem = name.removesuffix(".json")
    if stem == name or not stem.isdigit():
        return None
    return int(stem)


def partition_key(name: str) -> str:
    """An index partition (Parquet); ``name`` is unique to the compaction that wrote it.

    A base partition's lookup file, named ``<name>.keys``, and its footers
    file, ``<name>.footers``, are not Parquet (see mintstore.store.partitions)
    and keep their names as they are.
    """
    if name.endswith((".keys", ".footers")):
        return f"{PARTITION_PREFIX}{name}"
    return f"{PARTITION_PREFIX}{name}.parquet"


def partition_name(key: str) -> str:
    """Inverse of :func:`partition_key`."""
    return key[len(PARTITION_PREFIX) :].removesuffix(".parquet")


def claim_key(generation: int, attempt: int) -> str:
    """A compactor's claim on writing manifest ``generation`` (attempt n+1 once n expired)."""
    return f"{CLAIM_PREFIX}{generation:016d}/{attempt:06d}.json"


def job_key(job_id: str) -> str:
    """An RI job's record (written once, when the job has finished; gc expires it)."""
    return f"{JOBS_PREFIX}{job_id}.json"
