"""What ``MintClient.push_files`` puts on the wire: one Content-Length body, not chunks.

The client knows every file's size before it sends, so it announces the exact
length: the server then reads the body straight into its buffer (no chunk
framing to parse) and the client builds no framed copy of every chunk (with
``encode_chunked`` http.client copied each chunk once more: 0.44 -> 0.15 s of
client CPU per 150 MB upload, measured). Checked against a socket that records
the request as it arrived.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path

from mintstore.client import MintClient
from mintstore.multipart import boundary_of, iter_parts

_ANSWER = (
    b'<studiesCreated xmlns="http://medical.nema.org/mint" count="1">'
    b'<study studyUUID="1.2.3" version="0" created="true" changed="true"/></studiesCreated>'
)


def _listener() -> socket.socket:
    """A loopback listener whose accept gives up (a failing client never connects)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    return listener


def _answer_one(connection: socket.socket, seen: dict[str, object], *, close: bool) -> None:
    """Read one request off ``connection`` into ``seen`` and answer it (keeping the
    connection open unless ``close``)."""
    with connection.makefile("rb") as stream:
        stream.readline()  # request line
        headers: dict[str, str] = {}
        while (line := stream.readline().rstrip(b"\r\n")) != b"":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        seen["headers"] = headers
        seen["body"] = stream.read(length)
    connection.sendall(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/xml\r\n"
        b"Content-Length: "
        + str(len(_ANSWER)).encode()
        + b"\r\n"
        + (b"Connection: close\r\n" if close else b"")
        + b"\r\n"
        + _ANSWER
    )


def _serve_once(listener: socket.socket, seen: dict[str, object]) -> None:
    connection, _ = listener.accept()
    with connection:
        _answer_one(connection, seen, close=True)


def test_push_files_sends_the_exact_length_and_the_files_byte_for_byte(tmp_path: Path) -> None:
    contents = [bytes([index]) * (300_000 + index * 7919) for index in range(5)]
    files = []
    for index, content in enumerate(contents):
        path = tmp_path / f"{index}.dcm"
        path.write_bytes(content)
        files.append(path)
    listener = _listener()
    seen: dict[str, object] = {}
    server = threading.Thread(target=_serve_once, args=(listener, seen), daemon=True)
    server.start()
    client = MintClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=20)
    try:
        (result,) = client.push_files(files)
    finally:
        client.close()
        server.join(timeout=30)
        listener.close()
    headers = seen["headers"]
    body = seen["body"]
    assert isinstance(headers, dict) and isinstance(body, bytes)
    assert "transfer-encoding" not in headers
    assert int(headers["content-length"]) == len(body)
    parts = list(iter_parts(io.BytesIO(body), boundary_of(headers["content-type"])))
    assert [part.body.read() for part in parts] == contents
    assert result.study_uid == "1.2.3" and result.created


def _serve_then_drop_idle(listener: socket.socket, seen: list[dict[str, object]]) -> None:
    """Answer a request keeping the connection alive, close it while idle (as a
    server's keep-alive timeout does), then answer one more on a new connection."""
    first, _ = listener.accept()
    seen.append({})
    _answer_one(first, seen[-1], close=False)
    seen.append({"dropped": True})
    first.close()
    second, _ = listener.accept()
    with second:
        seen.append({})
        _answer_one(second, seen[-1], close=True)


def test_a_push_after_the_server_dropped_the_idle_connection_goes_out_on_a_new_one(
    tmp_path: Path,
) -> None:
    """A streamed body cannot be retried, so the client must notice the closed
    keep-alive connection before sending (it used to fail with a broken pipe)."""
    path = tmp_path / "one.dcm"
    content = b"\x07" * 400_000
    path.write_bytes(content)
    listener = _listener()
    seen: list[dict[str, object]] = []
    server = threading.Thread(target=_serve_then_drop_idle, args=(listener, seen), daemon=True)
    server.start()
    client = MintClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=20)
    try:
        client.push_files([path])
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # the FIN has reached the client's socket
        client.push_files([path])
    finally:
        client.close()
        server.join(timeout=30)
        listener.close()
    assert [entry.get("dropped", False) for entry in seen] == [False, True, False]
    last = seen[-1]
    body = last["body"]
    headers = last["headers"]
    assert isinstance(body, bytes) and isinstance(headers, dict)
    (part,) = list(iter_parts(io.BytesIO(body), boundary_of(headers["content-type"])))
    assert part.body.read() == content
