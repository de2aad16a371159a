"""Real mintstore server processes on loopback ports, for tests and benchmarks over real HTTP.

A :class:`ServerProcess` runs ``mintstore serve`` in its own process group
and is stopped (group and all) when the test is done; the port is read back
from the server's first line, so no port is ever guessed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

_LISTENING = re.compile(r"on (http://[0-9.]+:[0-9]+\S*?)/?(\s|$)")


def free_port() -> int:
    """A port free right now (for peers that cannot report a port 0 of their own)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """``mintstore serve`` with the given store and options, until ``stop``."""

    def __init__(
        self,
        store_url: str,
        *,
        environ: Mapping[str, str] | None = None,
        options: Sequence[str] = (),
        workers: int = 1,
        log_path: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        command = [
            sys.executable, "-m", "mintstore.cli", "serve",
            "--store", store_url, "--host", "127.0.0.1", "--port", "0",
            "--workers", str(workers), *options,
        ]  # fmt: skip
        env = {**os.environ, **(environ or {})}
        self._log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        match = _LISTENING.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"mintstore serve did not start: {line!r}")
        self.url = match.group(1).rstrip("/")
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("mintstore serve exited during start-up") from None
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mintstore serve did not become healthy in 20 s")

    def stop(self) -> None:
        """Stop the server's whole process group (gunicorn workers included)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
