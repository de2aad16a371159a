"""mintstore serve: run the HTTP API under gunicorn.

With no options it serves a file store in ./mint-data on 127.0.0.1:8080, one
worker process with 8 threads, HTTP/1.1 keep-alive. Settings come from a TOML
file (--config or MINTSTORE_CONFIG), MINTSTORE_* environment variables and
flags, flags winning; `mintstore config show` prints the result. SIGTERM stops
gracefully: new connections are refused, requests in flight finish (up to
--graceful-timeout seconds), the process exits 0.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mintstore.commands import dimse
from mintstore.configuration import Loaded, add_flags, load
from mintstore.errors import ConfigurationError
from mintstore.serving.options import ServingOptions

from .serve_options import (
    CORE_SECTIONS,
    DEFAULT_STORE_DIR,
    SECTIONS,
    HttpOptions,
    engine_config,
)

if TYPE_CHECKING:
    # Imported late at run time: the web app imports prometheus-client, which must
    # not happen before the runner has set up its multi-process directory.
    from mintstore.web import ServerConfig

__all__ = ["DEFAULT_STORE_DIR", "build_config", "is_loopback", "register"]


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """``--config`` and one flag per option of every section."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML configuration file (default: $MINTSTORE_CONFIG, else none)",
    )
    add_flags(parser, SECTIONS)


def register(subparsers: Any) -> None:
    """Add ``serve`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the MINT HTTP API (gunicorn)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_flags(parser)
    parser.set_defaults(handler=run)


def load_configuration(args: argparse.Namespace, environ: Mapping[str, str]) -> Loaded:
    """Every section's options from the file, the environment and the flags."""
    config_file = getattr(args, "config", None)
    if config_file is None and environ.get("MINTSTORE_CONFIG"):
        config_file = Path(environ["MINTSTORE_CONFIG"])
    return load(SECTIONS, config_file=config_file, environ=environ, flags=args)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_config(
    loaded: Loaded, environ: Mapping[str, str], *, metrics_dir: str | None = None
) -> ServerConfig:
    """The one ServerConfig of this process, from the loaded configuration."""
    from mintstore.web import ServerConfig, load_tokens
    from mintstore.web.config import load_copy_tokens

    serving = loaded.get(ServingOptions)
    http = loaded.get(HttpOptions)
    engine = engine_config(loaded)
    store_url = http.store or Path(DEFAULT_STORE_DIR).resolve().as_uri()
    if store_url.startswith("file://"):
        directory = Path(store_url.removeprefix("file://").split("?", 1)[0])
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot use {directory} as a file store: {exc.strerror}"
            ) from None
    tokens = load_tokens(http.tokens) if http.tokens else ()
    if not tokens and not is_loopback(serving.host) and not http.insecure:
        raise ConfigurationError(
            f"refusing to listen on {serving.host} without --tokens: anyone on the network "
            "could read and change the store (use --insecure to do it anyway)"
        )
    targets: dict[str, str] = {}
    for entry in http.copy_targets:
        name, equals, url = entry.partition("=")
        if not equals or not name or not url:
            raise ConfigurationError(f"--copy-target wants NAME=URL, not {entry!r}")
        targets[name] = url
    components = {
        type(instance): instance
        for name, instance in loaded.sections.items()
        if name not in CORE_SECTIONS
    }
    return ServerConfig(
        store_url=store_url,
        base_path=http.base_path,
        tokens=tokens,
        max_request_bytes=http.max_request_bytes,
        max_metadata_bytes=http.max_metadata_bytes,
        copy_targets=targets,
        engine=engine,
        environ=dict(environ),
        copy_tokens=load_copy_tokens(http.copy_tokens) if http.copy_tokens else {},
        spool_dir=str(http.spool_dir) if http.spool_dir else None,
        proxy_headers=serving.proxy_hops if serving.proxy_headers else 0,
        access_log=serving.access_log,
        metrics_dir=metrics_dir,
        components=components,
    )


def build_config(args: argparse.Namespace, environ: Mapping[str, str]) -> ServerConfig:
    """The ServerConfig the arguments and environment describe (kept for callers and tests)."""
    return server_config(load_configuration(args, environ), environ)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Serve until SIGTERM or Ctrl-C."""
    from mintstore import log_format
    from mintstore.serving import runner

    loaded = load_configuration(args, environ)
    serving = loaded.get(ServingOptions)
    server_config(loaded, environ)  # every configuration mistake is reported here
    log_format.configure(serving.log_format, serving.log_level)
    # Before the app exists: prometheus-client's value store is chosen per metric.
    metrics_dir = runner.prepare_metrics_directory()
    from mintstore.web import create_app

    try:
        config = server_config(loaded, environ, metrics_dir=metrics_dir)
        # Open the store once here, so a wrong URL or credentials are reported
        # as a message now rather than as a worker that fails to boot.
        create_app(config).extensions["mintstore.store"].close()
    except BaseException:
        runner.abandon_metrics_directory(metrics_dir)
        raise

    def banner(host: str, port: int) -> str:
        return (
            f"mintstore serving {config.store_url} on http://{host}:{port}{config.base_path}/ "
            f"with {serving.workers} worker(s) x {serving.threads} threads"
        )

    config_file = getattr(args, "config", None) or environ.get("MINTSTORE_CONFIG") or None
    gateway = dimse.start_for_serve(
        loaded,
        Path(config_file) if config_file else None,
        environ,
        config.store_url,
        serving.host,
    )
    try:
        return runner.serve(
            lambda: create_app(config), serving, banner=banner, metrics_directory=metrics_dir
        )
    finally:
        dimse.stop_for_serve(gateway)
