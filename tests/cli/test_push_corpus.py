"""``mintstore push`` of pydicom's whole bundled corpus in one command, against a file-by-file run.

The one-command push must go on past every refused file, report each with
its reason, exit 1, and its summary must add up to the same numbers as
pushing the files one at a time (each its own ``mintstore push``) to a fresh
server; a second run of the same command resumes (stores nothing twice).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pydicom
import pytest

from mintstore.cli import main
from mintstore.client import MintClient
from mintstore.commands.transfer import iter_files
from mintstore.testing.mint_server import ServerProcess

CORPUS = Path(pydicom.__file__).parent / "data" / "test_files"
SUMMARY = re.compile(
    r"pushed (\d+) instances \((\d+) bytes\) in (\d+) studies; refused (\d+) files(?: \((.*)\))?"
)


def _parse(summary: str) -> tuple[int, int, Counter[str]]:
    match = SUMMARY.search(summary)
    assert match, summary
    reasons: Counter[str] = Counter()
    for entry in (match.group(5) or "").split(", "):
        if entry:
            count, kind = entry.split(" ", 1)
            reasons[kind] += int(count)
    assert sum(reasons.values()) == int(match.group(4))
    return int(match.group(1)), int(match.group(3)), reasons


def _studies(url: str) -> set[str]:
    client = MintClient(url)
    try:
        return {hit.study_uid for hit in client.search(limit=1000)}
    finally:
        client.close()


def test_push_of_the_whole_corpus_matches_a_file_by_file_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ServerProcess((tmp_path / "one").as_uri()) as server:
        command = [sys.executable, "-m", "mintstore.cli", "push", str(CORPUS), "--quiet"]
        env = {**os.environ, "MINTSTORE_URL": server.url}
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 1, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        instances, studies, reasons = _parse(result.stdout)
        refused_lines = [line for line in result.stderr.splitlines() if line.startswith("refused ")]
        assert len(refused_lines) == sum(reasons.values())
        assert all(": " in line.split(str(CORPUS), 1)[1] for line in refused_lines)
        # rtstruct.dcm has no preamble and no DICM: it is DICOM all the same, and stored.
        assert (CORPUS / "rtstruct.dcm").read_bytes()[128:132] != b"DICM"
        assert not any("/rtstruct.dcm:" in line for line in refused_lines)
        assert instances > 100 and studies == len(_studies(server.url))
        # Run again: everything already there is accepted again, nothing new.
        again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        assert _parse(again.stdout) == (instances, studies, reasons)
        stored_once = _studies(server.url)

    with ServerProcess((tmp_path / "each").as_uri()) as server:
        one_by_one: Counter[str] = Counter()
        single_instances = 0
        for path in iter_files([CORPUS]):
            status = main(["push", str(path), "--quiet", "--url", server.url], environ={})
            count, _, why = _parse(capsys.readouterr().out)
            assert status == (1 if why else 0)
            single_instances += count
            one_by_one.update(why)
        assert single_instances == instances
        assert one_by_one == reasons
        assert _studies(server.url) == stored_once
