"""The HTTP layer's pure pieces: multipart in/out, selections, UIDs, tokens."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from mintstore.client import read_ri_multipart
from mintstore.errors import ConfigurationError, InvalidInput, InvalidUID
from mintstore.multipart import OutPart, boundary_of, iter_multipart, iter_parts, multipart_length
from mintstore.web.config import ServerConfig, load_tokens, normalize_base_path
from mintstore.web.selection import parse_selection, single_bid
from mintstore.web.uids import validate_uid


class _Trickle(io.RawIOBase):
    """A stream that hands out a few bytes per read, like a slow chunked upload."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data, self._step, self._pos = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[
            self._pos : self._pos + min(self._step, size if size > 0 else self._step)
        ]
        self._pos += len(chunk)
        return chunk


def _body(parts: list[tuple[str, bytes]], boundary: str, eol: bytes = b"\r\n") -> bytes:
    out = b"preamble" + eol
    for headers, data in parts:
        out += b"--" + boundary.encode() + eol + headers.encode().replace(b"\n", eol) + eol + eol
        out += data + eol
    return out + b"--" + boundary.encode() + b"--" + eol


@pytest.mark.parametrize("step", [1, 7, 4096, 10**7])
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_multipart_reader_splits_parts_at_any_read_size(step: int, eol: bytes) -> None:
    boundary = "abc123"
    payloads = [b"", b"x", b"--abc12 almost a boundary\r\n--abc12", bytes(range(256)) * 50]
    body = _body(
        [
            (f"Content-Type: application/octet-stream\nContent-ID: <{i}@s>", p)
            for i, p in enumerate(payloads)
        ],
        boundary,
        eol,
    )
    seen = []
    for part in iter_parts(_Trickle(body, step), boundary):  # type: ignore[arg-type]
        seen.append((part.headers["Content-ID"], part.body.read(), part.size))
        part.body.close()
    assert seen == [(f"<{i}@s>", p, len(p)) for i, p in enumerate(payloads)]


def test_multipart_reader_refuses_truncated_bodies() -> None:
    body = _body([("Content-Type: text/plain", b"hello")], "b1")[:-10]
    with pytest.raises(InvalidInput):
        for part in iter_parts(io.BytesIO(body), "b1"):
            part.body.close()


def test_boundary_must_be_valid() -> None:
    assert boundary_of('multipart/related; boundary="a b"') == "a b"
    with pytest.raises(InvalidInput):
        boundary_of("multipart/related")
    with pytest.raises(InvalidInput):
        boundary_of("multipart/related; boundary=" + "x" * 71)


@pytest.mark.parametrize("crlf", [False, True])
def test_multipart_writer_round_trips_through_the_ri_line_reader(crlf: bool) -> None:
    items = {0: b"", 3: b"\n\n--MINT-x\n", 9: bytes(range(256)) * 9000}
    parts = [
        OutPart("application/octet-stream", f"{bid}@1.2.3", len(data), lambda d=data: io.BytesIO(d))  # type: ignore[misc]
        for bid, data in items.items()
    ]
    body = b"".join(iter_multipart(parts, "MINT-x", crlf=crlf))
    assert len(body) == multipart_length(parts, "MINT-x", crlf=crlf)
    if not crlf:
        assert b"\r" not in body.replace(items[9], b"")
        first = body.split(b"\n")[:5]
        assert first == [
            b"--MINT-x",
            b"Content-Type: application/octet-stream",
            b"Content-ID: <0@1.2.3>",
            b"Content-Length: 0",
            b"",
        ]
    assert dict(read_ri_multipart(io.BytesIO(body))) == items


def test_multipart_writer_refuses_a_short_item() -> None:
    part = OutPart("application/octet-stream", "0@1", 10, lambda: io.BytesIO(b"short"))
    with pytest.raises(OSError):
        b"".join(iter_multipart([part], "b", crlf=False))


def test_selection_grammar() -> None:
    assert parse_selection("all") is None
    assert parse_selection("all.dat") is None
    assert parse_selection("3") == [3]
    assert parse_selection("0-5,9,2") == [0, 1, 2, 3, 4, 5, 9]
    assert single_bid("12.dat") == 12
    assert single_bid("1-2") is None
    for bad in ("", "a", "5-2", "1,,2", "-1", "1-", "1;2"):
        with pytest.raises(InvalidInput):
            parse_selection(bad)
    with pytest.raises(InvalidInput):
        parse_selection("0-99999999")


def test_uid_validation() -> None:
    assert validate_uid("1.2.840.10008.1") == "1.2.840.10008.1"
    for bad in ("", "../etc", "1..2", "1.2.", "a.1", "1.2/3", "1" * 65, ".1"):
        with pytest.raises(InvalidUID):
            validate_uid(bad)


def test_tokens_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(
        json.dumps(
            {
                "tokens": [
                    {"name": "alice", "token": "s3cret", "scopes": ["read"]},
                    {"name": "root", "sha256": "a" * 64, "scopes": ["admin"]},
                ]
            }
        )
    )
    alice, root = load_tokens(path)
    assert alice.matches("s3cret") and not alice.matches("s3cret ")
    assert alice.allows("read") and not alice.allows("write")
    assert root.allows("read") and root.allows("write") and root.allows("admin")
    path.write_text(json.dumps({"tokens": [{"name": "x", "token": "y", "scopes": ["god"]}]}))
    with pytest.raises(ConfigurationError):
        load_tokens(path)


def test_base_path_normalization() -> None:
    assert normalize_base_path("/") == ""
    assert normalize_base_path("MINTServer/") == "/MINTServer"
    assert ServerConfig(store_url="memory://", base_path="/MINTServer").base_path == "/MINTServer"
    with pytest.raises(ConfigurationError):
        normalize_base_path("/a/../b")
