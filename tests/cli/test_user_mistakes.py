"""Every subcommand, given bad input, exits non-zero with a message and no traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from mintstore.cli import build_parser, main

DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens there

#: (arguments, a word the message must contain); {tmp} is a temporary directory.
CASES: list[tuple[list[str], str]] = [
    (["serve", "--store", "file:///proc/nope"], "/proc/nope"),
    (["serve", "--store", "bogus://x"], "bogus"),
    (["serve", "--port", "x"], "integer"),
    (["serve", "--workers", "0"], "workers"),
    (["serve", "--tokens", "{tmp}/missing.json"], "missing.json"),
    (["serve", "--config", "{tmp}/missing.toml"], "missing.toml"),
    (["serve", "--config", "{tmp}/bad.toml"], "TOML"),
    (["serve", "--host", "0.0.0.0", "--store", "memory://x"], "refusing"),
    (["serve", "--log-format", "xml"], "invalid choice"),
    (["push", "{tmp}/missing", "--url", DEAD], "missing"),
    (["push", "{tmp}", "--url", "not-a-url"], "not an http"),
    (["push", "{tmp}", "--url", DEAD, "--jobs", "0"], "jobs"),
    (["push", "{tmp}/one.dcm", "--url", DEAD], "127.0.0.1:9"),
    (["push", "{tmp}"], "MINTSTORE_URL"),
    (["pull", "1.2.3", "{tmp}/out", "--url", DEAD], "127.0.0.1:9"),
    (["pull", "1.2.3", "{tmp}/a-file", "--url", DEAD], "a-file"),
    (["search", "oops", "--url", DEAD], "NAME=VALUE"),
    (["search", "--url", DEAD], "127.0.0.1:9"),
    (["copy", "1.2.3", "elsewhere", "--url", DEAD], "127.0.0.1:9"),
    (["verify", "--store", "file:///proc/nope"], "/proc/nope"),
    (["verify"], "--store"),
    (["gc", "--store", "memory://", "--grace-hours", "-1"], "grace-hours"),
    (["reindex", "--config", "{tmp}/bad.toml"], "TOML"),
    (["gc", "--store", "bogus://"], "bogus"),
    (["gc", "--store", "memory://", "--grace-hours", "x"], "grace-hours"),
    (["reindex", "--store", "s3://"], "bucket"),
    (["config", "show", "--threads", "many"], "integer"),
    (["config"], "ACTION"),
    (["no-such-command"], "invalid choice"),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "bad.toml").write_text("[server\nport = ")
    (tmp_path / "a-file").write_text("not a directory")
    from pydicom.data import get_testdata_file

    (tmp_path / "one.dcm").write_bytes(Path(str(get_testdata_file("CT_small.dcm"))).read_bytes())
    return tmp_path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        status = main(argv, environ={})
    except SystemExit as stop:  # argparse's own errors
        status = stop.code if isinstance(stop.code, int) else 2
    captured = capsys.readouterr()
    return status, captured.out + captured.err


@pytest.mark.parametrize(("argv", "word"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_user_mistake_is_a_message(
    argv: list[str], word: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [part.replace("{tmp}", str(workdir)) for part in argv]
    status, output = _run(args, capsys)
    assert status != 0
    assert word in output, output
    assert "Traceback" not in output


def _subcommands() -> list[str]:
    parser = build_parser()
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices)
    return found


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_refuses_an_unknown_option(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = _run([command, "--no-such-option", "x"], capsys)
    assert status == 2 and "Traceback" not in output
    assert "unrecognized arguments" in output or "error" in output, output


def test_the_real_console_script_prints_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mintstore.cli", "serve", "--store", "file:///proc/nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "/proc/nope" in result.stderr
