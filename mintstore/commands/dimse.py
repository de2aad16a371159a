"""``mintstore dimse``: run the DIMSE gateway (C-ECHO, C-STORE, C-FIND, C-MOVE,
C-GET, Storage Commitment) on a store, until interrupted.

``mintstore serve --dicom-port PORT`` runs the same gateway beside the HTTP
API in one process (:func:`start_gateway`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mintstore.adapters.registry import open_store
from mintstore.dimse.config import DimseConfig, TlsConfig, check_ae_title, parse_destination
from mintstore.errors import ConfigurationError
from mintstore.store import StoreConfig, StudyStore

if TYPE_CHECKING:
    from mintstore.dimse.server import DimseServer

DEFAULT_STORE_DIR = "mint-data"


def register(subparsers: Any) -> None:
    """Add ``dimse`` to the command line."""
    defaults = DimseConfig()
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dimse",
        help="run the DIMSE gateway (DICOM networking) on a store",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--store", help="store URL (default: file store ./mint-data)")
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
    parser.add_argument("--ae-title", default=defaults.ae_title)
    parser.add_argument(
        "--allow-calling-ae",
        action="append",
        default=[],
        metavar="AE",
        help="accept only these calling AE titles (repeatable; default: any)",
    )
    parser.add_argument(
        "--destination",
        action="append",
        default=[],
        metavar="AE=HOST:PORT",
        help="a C-MOVE destination / storage commitment requester (repeatable)",
    )
    parser.add_argument("--max-associations", type=int, default=defaults.max_associations)
    parser.add_argument("--max-pdu", type=int, default=defaults.max_pdu)
    parser.add_argument("--acse-timeout", type=float, default=defaults.acse_timeout)
    parser.add_argument("--dimse-timeout", type=float, default=defaults.dimse_timeout)
    parser.add_argument("--network-timeout", type=float, default=defaults.network_timeout)
    parser.add_argument("--tls-cert", type=Path, help="serve TLS with this certificate (PEM)")
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    parser.add_argument("--tls-ca", type=Path, help="require peer certificates from this CA")
    parser.add_argument("--batch-max-instances", type=int, default=defaults.batch_max_instances)
    parser.add_argument("--batch-max-delay", type=float, default=defaults.batch_max_delay)
    parser.set_defaults(handler=run)


def build_config(args: argparse.Namespace) -> DimseConfig:
    """The gateway's configuration from the ``dimse`` command's arguments."""
    tls = None
    if args.tls_cert or args.tls_key or args.tls_ca:
        if not (args.tls_cert and args.tls_key):
            raise ConfigurationError("TLS needs both --tls-cert and --tls-key")
        tls = TlsConfig(args.tls_cert, args.tls_key, args.tls_ca)
    return DimseConfig(
        ae_title=check_ae_title(args.ae_title),
        host=args.host,
        port=args.port,
        allowed_calling_aes=frozenset(check_ae_title(ae) for ae in args.allow_calling_ae),
        destinations=dict(parse_destination(entry) for entry in args.destination),
        max_associations=args.max_associations,
        max_pdu=args.max_pdu,
        acse_timeout=args.acse_timeout,
        dimse_timeout=args.dimse_timeout,
        network_timeout=args.network_timeout,
        tls=tls,
        batch_max_instances=args.batch_max_instances,
        batch_max_delay=args.batch_max_delay,
    )


def _store_url(store: str | None) -> str:
    url = store or Path(DEFAULT_STORE_DIR).resolve().as_uri()
    if url.startswith("file://"):
        Path(url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    return url


def start_gateway(
    store_url: str | None,
    environ: Mapping[str, str],
    config: DimseConfig,
    *,
    announce: bool = True,
) -> DimseServer:
    """Open the store and start the gateway in background threads.

    ``announce`` prints the listening line on stdout (the first line of
    ``mintstore dimse``, which tests read); beside ``serve`` it is logged
    instead, so that serve's own first line stays the HTTP one."""
    from mintstore.dimse.server import DimseServer  # pynetdicom only when it is used

    store = StudyStore(open_store(_store_url(store_url), environ), StoreConfig())
    server = DimseServer(store, config)
    port = server.start()
    line = f"mintstore DIMSE {config.ae_title} listening on {config.host}:{port}"
    if announce:
        print(line, flush=True)
    else:
        logging.getLogger("mintstore.dimse").info(line)
    return server


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Serve until SIGINT or SIGTERM, then finish what was spooled."""
    config = build_config(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    server = start_gateway(args.store, environ, config)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """``serve --dicom-port PORT --ae-title TITLE``: the gateway beside the HTTP API."""
    parser.add_argument(
        "--dicom-port", type=int, help="also run the DIMSE gateway on this port (mintstore dimse)"
    )
    parser.add_argument("--ae-title", default=DimseConfig.ae_title, help="the gateway's AE title")


def start_for_serve(
    args: argparse.Namespace, environ: Mapping[str, str], store_url: str, host: str
) -> subprocess.Popen[bytes] | None:
    """With ``--dicom-port``, run ``mintstore dimse`` on serve's store and host.

    A child process rather than threads of serve's own: serve's runner forks
    gunicorn workers, and a forked worker must not inherit the gateway's
    threads or its listening socket. Serve waits for its listening line and
    copies it to stderr, so serve's first line on stdout stays the HTTP banner,
    and a gateway that cannot start (port taken) stops serve with its reason."""
    if args.dicom_port is None:
        return None
    command = [
        sys.executable, "-m", "mintstore.commands.dimse_entry",
        "--store", store_url, "--host", host,
        "--port", str(args.dicom_port), "--ae-title", check_ae_title(args.ae_title),
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env=dict(environ))
    assert child.stdout is not None
    line = child.stdout.readline().decode(errors="replace")
    if "listening on" not in line:
        child.wait()
        raise ConfigurationError(f"the DIMSE gateway did not start (exit {child.returncode})")
    sys.stderr.write(line)
    child.stdout.close()
    return child


def stop_for_serve(gateway: subprocess.Popen[bytes] | None) -> None:
    """Stop the gateway child (it commits what it spooled first)."""
    if gateway is None or gateway.poll() is not None:
        return
    gateway.send_signal(signal.SIGTERM)
    try:
        gateway.wait(timeout=30)
    except subprocess.TimeoutExpired:
        gateway.kill()
        gateway.wait()
