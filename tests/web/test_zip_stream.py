"""ZipStream writes archives that zipfile reads back, member for member.

Stored members with data descriptors and ZIP64 records: empty members,
non-ASCII names, many members, and a member written in pieces.
"""

from __future__ import annotations

import io
import os
import zipfile

from mintstore.web.zip_stream import ZipStream


def _archive(members: list[tuple[str, list[bytes]]]) -> bytes:
    archive = ZipStream()
    out = []
    for name, pieces in members:
        archive.begin(name)
        for piece in pieces:
            archive.write(piece)
        archive.end()
        out.append(archive.take())
    archive.finish()
    out.append(archive.take())
    return b"".join(out)


def test_members_come_back_as_written() -> None:
    members = [(f"series/{index}.dcm", [os.urandom(index * 31)]) for index in range(300)]
    members += [("empty.dcm", []), ("ünïcode/名前.dcm", [b"abc", b"", b"def"])]
    data = _archive(members)
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        assert opened.testzip() is None
        assert opened.namelist() == [name for name, _ in members]
        for name, pieces in members:
            info = opened.getinfo(name)
            assert info.compress_type == zipfile.ZIP_STORED
            assert opened.read(name) == b"".join(pieces)


def test_an_empty_archive_is_valid() -> None:
    with zipfile.ZipFile(io.BytesIO(_archive([]))) as opened:
        assert opened.namelist() == []
