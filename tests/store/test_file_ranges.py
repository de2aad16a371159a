"""The in-process ingest of a file-backed Part-10: large values go from the file to blobs.

Their blobs are written before ``add_part10`` returns (the caller closes its
file right after), and the instance reads back byte for byte.
"""

from __future__ import annotations

import io
from pathlib import Path

from pydicom.uid import ExplicitVRLittleEndian

from mintstore.adapters.memory import MemoryStore
from mintstore.store import Actor, StoreConfig, StudyStore
from tests.convert.test_values_in_file import multiframe_file


def test_store_ingest_writes_ranges_before_the_stream_closes(tmp_path: Path) -> None:
    path = multiframe_file(tmp_path / "mf.dcm", ExplicitVRLittleEndian)
    store = StudyStore(MemoryStore(), StoreConfig(upload_workers=2))
    with store.begin_ingest() as session:
        with open(path, "rb") as stream:
            study_uid = session.add_part10(stream)
        # the stream is closed: every range must already be a blob
        (result,) = session.commit(Actor("test", "host"))
    assert result.created
    version = store.open_version(study_uid)
    out = io.BytesIO()
    ((series_uid, sop),) = version.instances()
    version.instance_part10(series_uid, sop, out)
    assert out.getvalue() == path.read_bytes()
