"""Real DIMSE peers for tests and benchmarks: the gateway as its own process, and
dcmtk's ``storescp`` as a C-MOVE destination.

Each runs in its own process group and is stopped (group and all) by
``stop``; the gateway's port is read from its first line, storescp gets a
port that was free a moment before (dcmtk cannot report port 0).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from mintstore.testing.dcmtk import dcmtk_tool
from mintstore.testing.mint_server import free_port

_LISTENING = re.compile(r"listening on ([0-9.]+):([0-9]+)")


def _stop_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class DimseProcess:
    """``mintstore dimse`` on a store (``--port 0``), until ``stop`` or ``kill``."""

    def __init__(
        self,
        store_url: str,
        *,
        options: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        ae_title: str = "MINTSTORE",
    ) -> None:
        command = [
            sys.executable, "-m", "mintstore.commands.dimse_entry", "--store", store_url,
            "--host", "127.0.0.1", "--port", "0", "--ae-title", ae_title, *options,
        ]  # fmt: skip
        self.ae_title = ae_title
        self._log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, **(environ or {})},
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        match = _LISTENING.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"mintstore dimse did not start: {line!r}")
        self.host, self.port = match.group(1), int(match.group(2))

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, no chance to finish anything (the crash tests)."""
        _stop_group(self.process, signal.SIGKILL)
        self._close()

    def stop(self) -> None:
        _stop_group(self.process)
        self._close()

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    def __enter__(self) -> DimseProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class StoreSCP:
    """dcmtk ``storescp`` writing what it receives into ``directory``."""

    def __init__(self, directory: Path, ae_title: str = "STORESCP") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.ae_title = ae_title
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                dcmtk_tool("storescp"),
                "-aet",
                ae_title,
                "-od",
                str(directory),
                "+xa",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [dcmtk_tool("echoscu"), "-aec", ae_title, "127.0.0.1", str(self.port)],
                capture_output=True,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("storescp did not start")

    def files(self) -> list[Path]:
        return sorted(path for path in self.directory.iterdir() if path.is_file())

    def stop(self) -> None:
        _stop_group(self.process)

    def __enter__(self) -> StoreSCP:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
