"""The test-server helpers fail loudly and clean up after themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mintstore.testing.servers import Azurite, ServerStartError, Swift, _Process, _spawn


@pytest.mark.parametrize("server", [Azurite, Swift])
def test_missing_tools_fail_with_the_fix(server: type[Azurite | Swift], tmp_path: Path) -> None:
    with pytest.raises(ServerStartError, match=r"run scripts/test"), server(tmp_path / "none"):
        pass


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    # A server that forks a child which ignores its parent's death.
    process: _Process = _spawn(
        "forker",
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        tmp_path,
    )
    for _ in range(100):
        if "ready" in process.log_tail():
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert len(_alive_in_session(process.popen.pid)) == 2
    process.stop()
    assert _alive_in_session(process.popen.pid) == []


def _alive_in_session(session: int) -> list[str]:
    """Processes of a session, zombies (dead, awaiting reaping by init) excluded."""
    states = subprocess.run(
        ["ps", "-o", "stat=", "--sid", str(session)], capture_output=True, text=True, check=False
    )
    return [state for state in states.stdout.split() if not state.startswith("Z")]
