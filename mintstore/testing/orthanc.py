"""Orthanc as a real peer (DICOMweb client/server, DIMSE), for tests and benchmarks.

Orthanc binds 0.0.0.0 and has no option to bind loopback, so it may only
run inside a private network namespace: :func:`run_in_private_network`
re-runs a command under ``unshare -n`` with only ``lo`` up, and whatever
starts Orthanc (a test scenario, a benchmark) runs there together with the
processes that talk to it. :class:`OrthancProcess` refuses to start outside
such a namespace.

Generic on purpose: a configuration dict in (merged over safe defaults: a
temp storage and index directory, no authentication, the DICOMweb plugin
loaded), a process handle out, stopped by its process group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
START_TIMEOUT = 30.0


def in_private_network() -> bool:
    """True when the only network interface is loopback (a namespace of our own)."""
    names = {name for _, name in socket.if_nameindex()}
    return names <= {"lo"}


def run_in_private_network(
    argv: Sequence[str],
    *,
    timeout: float = 600,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` in a new network namespace with loopback up; output captured."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise RuntimeError("unshare and ip (util-linux, iproute2) are needed for Orthanc")
    script = 'ip link set lo up && exec "$@"'
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", script, "sh", *argv],
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class OrthancProcess:
    """One Orthanc with a temporary configuration, storage and index, until ``stop``."""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        executable: str = "Orthanc",
        log_path: Path | None = None,
    ) -> None:
        if not in_private_network():
            raise RuntimeError("Orthanc binds 0.0.0.0: start it inside run_in_private_network")
        self.workdir = Path(tempfile.mkdtemp(prefix="orthanc-"))
        self.http_port = free_port()
        defaults: dict[str, Any] = {
            "Name": "ORTHANC-PEER",
            "HttpPort": self.http_port,
            "DicomServerEnabled": False,
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "AuthenticationEnabled": False,
            "RemoteAccessAllowed": False,
            "Plugins": [str(DICOMWEB_PLUGIN)],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "HttpTimeout": 120,
        }
        self.config = _merge(defaults, config or {})
        self.http_port = int(self.config["HttpPort"])
        config_path = self.workdir / "orthanc.json"
        config_path.write_text(json.dumps(self.config), encoding="utf-8")
        self._log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [executable, str(config_path)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.http_port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/system", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                if self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("Orthanc exited during start-up") from None
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {START_TIMEOUT} s")

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Any:
        """One REST call; JSON in and out (``raw`` sends bytes as is)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if raw is not None:
            req.add_header("Content-Type", "application/dicom")
        elif body is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=600) as response:
            content = response.read()
        if response.headers.get_content_type() == "application/json":
            return json.loads(content)
        return content

    def stop(self) -> None:
        """Stop Orthanc's process group and remove its temporary directory."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> OrthancProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def python_module_argv(module: str, *args: str) -> list[str]:
    """``python -m module args`` with this interpreter (for run_in_private_network)."""
    return [sys.executable, "-m", module, *args]
