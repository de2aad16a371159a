"""Hostile inputs cost a real server process bounded CPU and memory, and it stays up.

The server runs in a subprocess (``mintstore serve``); its CPU time and RSS
high-water mark come from /proc and are reset before each request, so each
figure is that request's. Inputs are the issue's at full size where that is
cheap to build (the deflate bomb, a million GPB attributes) and smaller where
building them would dominate the test (the many-parts upload: 100 parts of
1 MB, whose in-memory share is what is bounded).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mintstore.testing.hostile import (
    Cost,
    HostileCase,
    deflate_bomb,
    element_bomb,
    file_body,
    gpb_many_attributes,
    json_many_attributes,
    large_part10,
    many_binary_parts,
    measure,
    multipart,
    xml_many_attributes,
)
from mintstore.testing.mint_server import ServerProcess

CPU_BOUND = 1.5  # seconds; the goal is 1 s, with slack for a loaded 2-core machine
MEMORY_BOUND_MIB = 64.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    store = tmp_path_factory.mktemp("hostile-store")
    log = tmp_path_factory.mktemp("hostile-log") / "server.log"
    with ServerProcess(store.as_uri(), log_path=log) as process:
        yield process


def _check(server: ServerProcess, case: HostileCase) -> Cost:
    cost = measure(server.url, server.process.pid, case)
    assert server.process.poll() is None, "the server died"
    assert cost.status in case.expect, cost
    assert cost.cpu_seconds <= CPU_BOUND, cost
    assert cost.peak_extra_mib <= MEMORY_BOUND_MIB, cost
    return cost


def test_deflate_bomb(server: ServerProcess) -> None:
    """65 KB that inflate to 64 MiB of empty elements: was 29.6 s of CPU."""
    body = deflate_bomb(64)
    assert len(body) < 70_000
    _check(server, HostileCase("deflate", "POST", "/studies/create", body,
                               {"Content-Type": "application/dicom"}))  # fmt: skip


def test_element_bomb_under_the_inflate_floor(server: ServerProcess) -> None:
    """16 MiB of empty elements, uncompressed: the element count stops it."""
    _check(server, HostileCase("elements", "POST", "/studies/create", element_bomb(16),
                               {"Content-Type": "application/dicom"}))  # fmt: skip


@pytest.mark.parametrize("spread", [False, True], ids=["one set", "100 per instance"])
def test_gpb_with_a_million_attributes(server: ServerProcess, spread: bool) -> None:
    """12 MiB of GPB: was 23.5 s and 1.65 GiB, and accepted."""
    body = gpb_many_attributes(1_000_000, spread=spread)
    _check(server, HostileCase("gpb", "POST", "/studies/create", body,
                               {"Content-Type": "application/x-protobuf"}))  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_text_metadata_with_a_million_attributes(server: ServerProcess, fmt: str) -> None:
    """Refused on a count of the markup, before the parser builds a million objects."""
    body = json_many_attributes(1_000_000) if fmt == "json" else xml_many_attributes(1_000_000)
    _check(server, HostileCase(fmt, "POST", "/studies/create", body,
                               {"Content-Type": f"application/{fmt}"}))  # fmt: skip


def test_many_parts_under_a_megabyte_are_not_held_in_memory(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Binary parts wait for the commit on disk, past a 4 MiB allowance (was +297 MiB)."""
    body, boundary = many_binary_parts(100, 1_000_000)
    cost = _check(server, HostileCase("parts", "POST", "/studies/create", body,
                                      {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                                      expect=(201,)))  # fmt: skip
    # The measurement sees the process that did the work: 100 MB were hashed and written.
    assert cost.cpu_seconds > 0.05, cost


def test_a_large_part10_body_is_not_held_in_memory(server: ServerProcess, tmp_path: Path) -> None:
    """PixelData goes from the spooled body to its blob in chunks (a 300 MiB body added
    302 MiB before); 96 MiB here, which would show as about 96 MiB if read whole."""
    path = large_part10(tmp_path / "large.dcm", 96)
    case = HostileCase("large Part-10", "POST", "/studies/create", file_body(path),
                       {"Content-Type": "application/dicom"}, length=path.stat().st_size,
                       expect=(201,))  # fmt: skip
    cost = measure(server.url, server.process.pid, case)
    assert server.process.poll() is None and cost.status == 201, cost
    assert cost.peak_extra_mib <= 24.0, cost


def test_a_large_part10_part_of_a_multipart_upload_is_not_held_in_memory(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The same for a Part-10 that is one part of a multipart body (the request's
    shared spool file is mapped from the part's offset)."""
    small = large_part10(tmp_path / "small.dcm", 8)
    path = large_part10(tmp_path / "large.dcm", 64)
    parts = [
        ({"Content-Type": "application/dicom"}, small.read_bytes()),
        ({"Content-Type": "application/dicom"}, path.read_bytes()),
    ]
    body = b"".join(multipart(parts, "big-part"))
    case = HostileCase("large Part-10 part", "POST", "/studies/create", body,
                       {"Content-Type": "multipart/related; type=\"application/dicom\"; "
                        "boundary=big-part"}, expect=(201,))  # fmt: skip
    cost = measure(server.url, server.process.pid, case)
    assert server.process.poll() is None and cost.status == 201, cost
    assert cost.peak_extra_mib <= 24.0, cost
