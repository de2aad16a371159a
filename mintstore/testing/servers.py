"""Real object-store servers on loopback, for tests and benchmarks.

Each server is a context manager: entering starts it on free 127.0.0.1 ports
in a fresh temporary directory and waits until it answers; leaving stops it
(the whole process group, so no child survives). A server that cannot start
raises ``ServerStartError`` with its log tail: tests must fail loudly rather
than skip a backend.

The emulators' binaries come from ``<repo>/.tools`` (installed by
``scripts/setup/*.sh``); callers pass that directory in.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from .swift_config import SwiftPorts, write_swift_config

#: Credentials every emulator here accepts (documented, public test values).
AWS_TEST_ENVIRON: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
SWIFT_USER = "test:tester"
SWIFT_KEY = "testing"

#: Run by the Swift venv's Python: builds a one-replica, one-device ring per
#: service (2**8 partitions) listening on the given loopback ports.
_RING_SCRIPT = """
import ast, os, sys
from swift.common.ring import RingBuilder
etc, services = sys.argv[1], ast.literal_eval(sys.argv[2])
for name, port in services.items():
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
                     "port": port, "device": "d1", "weight": 100})
    builder.rebalance()
    builder.get_ring().save(os.path.join(etc, name + ".ring.gz"))
"""

#: How long a server may take to answer before we give up on it.
START_TIMEOUT = 60.0


class ServerStartError(RuntimeError):
    """A test server could not be started; the message says why and how to fix it."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            status: int = response.status
            return 200 <= status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


@dataclass
class _Process:
    """A started server process, in its own process group, with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def _spawn(
    name: str, argv: Sequence[str], workdir: Path, env: Mapping[str, str] | None = None
) -> _Process:
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        try:
            popen = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=workdir,
                env=dict(env) if env is not None else None,
                start_new_session=True,  # own process group: stop() kills children too
            )
        except OSError as exc:
            raise ServerStartError(f"cannot start {name} ({argv[0]}): {exc}") from exc
    return _Process(name, popen, log)


def _wait_until(
    ready: Callable[[], bool], processes: Sequence[_Process], what: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.popen.poll() is not None:
                raise ServerStartError(
                    f"{what}: {process.name} exited with status {process.popen.returncode}\n"
                    + process.log_tail()
                )
        if ready():
            return
        time.sleep(0.1)
    tails = "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in processes)
    raise ServerStartError(f"{what} did not become ready within {timeout:.0f} s\n{tails}")


def _require(path: Path, installer: str) -> Path:
    if not path.exists():
        raise ServerStartError(
            f"{path} is missing: run scripts/test (or {installer}) to install the test servers"
        )
    return path


class _Server(AbstractContextManager["_Server"]):
    """Common start/stop plumbing: a temp directory and an ExitStack."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self.workdir = Path("/nonexistent")

    def __enter__(self) -> Self:
        try:
            self.workdir = Path(
                self._stack.enter_context(tempfile.TemporaryDirectory(prefix="mint-srv-"))
            )
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        raise NotImplementedError

    def _run(self, name: str, argv: Sequence[str]) -> _Process:
        process = _spawn(name, argv, self.workdir)
        self._stack.callback(process.stop)
        return process


class MotoServer(_Server):
    """moto's S3 as a real HTTP server (a thread in this process).

    Unlike in-process ``mock_aws``, requests go through sockets, HTTP parsing
    and botocore's retry layer as they would against AWS.
    """

    endpoint_url = ""

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request to stderr; a test or benchmark run
        # would drown in it. Warnings and errors still come through.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._stack.callback(server.stop)
        host, port = server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        ready_url = self.endpoint_url + "/moto-api/"
        _wait_until(lambda: _responds(ready_url), [], "moto server", START_TIMEOUT)

    def environ(self) -> dict[str, str]:
        return dict(AWS_TEST_ENVIRON)


class Azurite(_Server):
    """Azurite's blob service, in memory, on a free port."""

    def __init__(self, tools: Path) -> None:
        super().__init__()
        self._binary = tools.absolute() / "azurite" / "node_modules" / ".bin" / "azurite-blob"
        self.port = 0

    def _start(self) -> None:
        binary = _require(self._binary, "scripts/setup/20-azurite.sh")
        self.port = free_port()
        process = self._run(
            "azurite",
            [
                str(binary),
                "--inMemoryPersistence",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
                "--silent",
            ],
        )
        url = f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}?comp=list"
        _wait_until(lambda: _responds(url), [process], "Azurite", START_TIMEOUT)

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    def connection_string(self, key: str = AZURITE_KEY) -> str:
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={AZURITE_ACCOUNT};AccountKey={key};BlobEndpoint={self.blob_endpoint};"
        )

    def environ(self, key: str = AZURITE_KEY) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string(key)}


class Swift(_Server):
    """A one-replica, all-in-one OpenStack Swift with tempauth (and memcached).

    The configuration is written by ``mintstore.testing.swift_config``.
    ``listing_limit`` lowers the container listing page size so that a
    modest number of keys exercises the client's paging.
    """

    def __init__(self, tools: Path, *, listing_limit: int = 10000) -> None:
        super().__init__()
        self._bin = tools.absolute() / "swift-venv" / "bin"
        self._listing_limit = listing_limit
        self.proxy_port = 0

    def _start(self) -> None:
        _require(self._bin / "swift-proxy-server", "scripts/setup/30-swift.sh")
        memcached = shutil.which("memcached")
        if memcached is None:
            raise ServerStartError(
                "memcached is not installed: run scripts/test (or scripts/setup/10-memcached.sh)"
            )
        ports = SwiftPorts(free_port(), free_port(), free_port(), free_port(), free_port())
        self.proxy_port = ports.proxy
        etc = write_swift_config(self.workdir, ports, listing_limit=self._listing_limit)
        self._build_rings(etc, ports)
        processes = [
            self._run(
                "memcached",
                [
                    memcached,
                    "-u",
                    "root",
                    "-l",
                    "127.0.0.1",
                    "-p",
                    str(ports.memcached),
                    "-U",
                    "0",
                    "-m",
                    "64",
                ],
            )
        ]
        for service in ("account", "container", "object", "proxy"):
            processes.append(
                self._run(
                    f"swift-{service}",
                    [
                        str(self._bin / f"swift-{service}-server"),
                        str(etc / f"{service}-server.conf"),
                        "-v",
                    ],
                )
            )
        urls = [f"http://127.0.0.1:{port}/healthcheck" for port in ports.http_ports()]
        _wait_until(lambda: all(_responds(url) for url in urls), processes, "Swift", START_TIMEOUT)

    def _build_rings(self, etc: Path, ports: SwiftPorts) -> None:
        """Write one-device rings with Swift's own RingBuilder, in one process.

        ``swift-ring-builder`` would take nine interpreter start-ups (create,
        add and rebalance per ring): seconds on a busy machine.
        """
        services = {"account": ports.account, "container": ports.container, "object": ports.object}
        result = subprocess.run(
            [str(self._bin / "python"), "-c", _RING_SCRIPT, str(etc), repr(services)],
            capture_output=True,
            check=False,
        )
        missing = [name for name in services if not (etc / f"{name}.ring.gz").exists()]
        if result.returncode != 0 or missing:
            raise ServerStartError(
                f"building the Swift rings failed (missing: {missing}):\n"
                + result.stderr.decode(errors="replace")[-2000:]
            )

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/auth/v1.0"

    def environ(self, key: str = SWIFT_KEY) -> dict[str, str]:
        return {"ST_AUTH": self.auth_url, "ST_USER": SWIFT_USER, "ST_KEY": key}
