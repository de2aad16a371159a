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
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mintstore.adapters.registry import open_store
from mintstore.configuration import Loaded, Section, add_flags, load, options_of
from mintstore.dimse.config import DimseConfig
from mintstore.dimse.options import SECTION, DimseOptions
from mintstore.errors import ConfigurationError
from mintstore.store import StoreConfig, StudyStore

if TYPE_CHECKING:
    from mintstore.dimse.server import DimseServer

DEFAULT_STORE_DIR = "mint-data"


def _sections() -> tuple[Section, ...]:
    # Imported here: serve_options is cheap (no web app), but register() is
    # called for every command line, and only `dimse` needs it.
    from .serve_options import SECTIONS

    return SECTIONS


def register(subparsers: Any) -> None:
    """Add ``dimse`` to the command line: ``--config``, ``--store``, the
    ``[store]`` engine flags and the ``[dimse]`` flags, these also without
    their ``--dimse-`` prefix (``--port``, ``--max-pdu``: the gateway's own
    command needs no prefix)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "dimse",
        help="run the DIMSE gateway (DICOM networking) on a store",
        description=__doc__,
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE",
        help="TOML configuration file, the same as serve's (default: $MINTSTORE_CONFIG)",
    )  # fmt: skip
    parser.add_argument(
        "--store", dest="cfg__http__store", metavar="URL", help="store URL (default: ./mint-data)"
    )
    sections = _sections()
    add_flags(parser, [s for s in sections if s.name == "store"])
    add_flags(parser, [SECTION])
    for opt in options_of(SECTION):
        if opt.flag.startswith("--dimse-"):
            short = "--" + opt.flag.removeprefix("--dimse-")
            parser.add_argument(
                short,
                dest=opt.dest,
                default=None,
                action="append" if opt.is_tuple else "store",
                help=argparse.SUPPRESS,
            )
    parser.set_defaults(handler=run)


def load_configuration(args: argparse.Namespace, environ: Mapping[str, str]) -> Loaded:
    """The same sources as serve: file < MINTSTORE_* < flags (a shared file is fine)."""
    config_file = getattr(args, "config", None)
    if config_file is None and environ.get("MINTSTORE_CONFIG"):
        config_file = Path(environ["MINTSTORE_CONFIG"])
    return load(_sections(), config_file=config_file, environ=environ, flags=args)


def build_config(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> DimseConfig:
    """The gateway's configuration from the ``dimse`` command's arguments."""
    loaded = load_configuration(args, environ or {})
    return loaded.get(DimseOptions).gateway_config()


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
    engine: StoreConfig | None = None,
) -> DimseServer:
    """Open the store and start the gateway in background threads.

    ``announce`` prints the listening line on stdout (the first line of
    ``mintstore dimse``, which tests read); beside ``serve`` it is logged
    instead, so that serve's own first line stays the HTTP one."""
    from mintstore.dimse.server import DimseServer  # pynetdicom only when it is used

    store = StudyStore(open_store(_store_url(store_url), environ), engine or StoreConfig())
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
    loaded = load_configuration(args, environ)
    config = loaded.get(DimseOptions).gateway_config()
    store_url = loaded.values["http.store"]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    from .serve_options import engine_config

    server = start_gateway(store_url, environ, config, engine=engine_config(loaded))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def start_for_serve(
    loaded: Loaded, config_file: Path | None, environ: Mapping[str, str], store_url: str, host: str
) -> subprocess.Popen[bytes] | None:
    """With ``dimse.port`` set (``--dicom-port``), run ``mintstore dimse`` on serve's
    store and host, with serve's configuration.

    A child process rather than threads of serve's own: serve's runner forks
    gunicorn workers, and a forked worker must not inherit the gateway's
    threads or its listening socket. The child reads the same file and
    environment; what serve was given as flags for ``[store]`` and ``[dimse]``
    is passed on as the same flags, so both see one configuration. Serve waits
    for its listening line and copies it to stderr, so serve's first line on
    stdout stays the HTTP banner, and a gateway that cannot start (port taken)
    stops serve with its reason."""
    options = loaded.get(DimseOptions)
    if options.port is None:
        return None
    options.gateway_config(host)  # a mistake is reported by serve, before the child
    command = [sys.executable, "-m", "mintstore.commands.dimse_entry", "--store", store_url]
    if config_file is not None:
        command += ["--config", str(config_file)]
    if options.host is None:
        command += ["--dimse-host", host]
    command += flags_given(loaded, ("store", "dimse"))
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env=dict(environ))
    assert child.stdout is not None
    line = child.stdout.readline().decode(errors="replace")
    if "listening on" not in line:
        child.wait()
        raise ConfigurationError(f"the DIMSE gateway did not start (exit {child.returncode})")
    sys.stderr.write(line)
    child.stdout.close()
    return child


def flags_given(loaded: Loaded, section_names: tuple[str, ...]) -> list[str]:
    """The options of these sections that came from flags, written as flags again."""
    arguments: list[str] = []
    for opt in loaded.options:
        if opt.section.name not in section_names:
            continue
        if not loaded.origins[opt.key].startswith("flag"):
            continue
        value = loaded.values[opt.key]
        if value is None:
            arguments += [opt.flag, "none"]
        elif opt.is_tuple:
            for item in value:
                arguments += [opt.flag, item]
        elif isinstance(value, bool):
            arguments.append(opt.flag if value else "--no-" + opt.flag.removeprefix("--"))
        elif isinstance(value, timedelta):
            arguments += [opt.flag, f"{value.total_seconds():g}"]
        else:
            arguments += [opt.flag, str(value)]
    return arguments


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
