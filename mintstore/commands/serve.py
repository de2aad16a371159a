"""``mintstore serve``: run the HTTP API.

With no options it serves a file store in ``./mint-data`` on
127.0.0.1:8080. One process uses werkzeug's threaded server; ``--workers N``
runs N gunicorn worker processes on the same store (every bit of state is in
the bucket, so workers need no coordination).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from mintstore.errors import ConfigurationError
from mintstore.web import ServerConfig, create_app, load_tokens
from mintstore.web.config import load_copy_tokens

DEFAULT_STORE_DIR = "mint-data"


def register(subparsers: Any) -> None:
    """Add ``serve`` to the command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run the MINT HTTP API", description=__doc__
    )
    parser.add_argument("--store", help="store URL (default: file store ./mint-data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--base-path", default="/", help="mount point, e.g. /MINTServer")
    parser.add_argument("--tokens", type=Path, help="JSON file of bearer tokens and scopes")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening on a non-loopback address without tokens",
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--max-request-bytes", type=int, default=8 * 1024**3)
    parser.add_argument("--lock-ttl", type=float, default=600.0, help="lock lifetime in seconds")
    parser.add_argument(
        "--copy-target",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a store that ?action=copy&target=NAME may copy to (repeatable)",
    )
    parser.add_argument(
        "--copy-tokens",
        type=Path,
        help="JSON file: other servers' URLs -> the bearer token to copy to them with",
    )
    parser.set_defaults(handler=run)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_config(args: argparse.Namespace, environ: Mapping[str, str]) -> ServerConfig:
    """The one ServerConfig of this process, from the arguments and the environment."""
    store_url = args.store or Path(DEFAULT_STORE_DIR).resolve().as_uri()
    if store_url.startswith("file://"):
        Path(store_url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    tokens = load_tokens(args.tokens) if args.tokens else ()
    if not tokens and not is_loopback(args.host) and not args.insecure:
        raise ConfigurationError(
            f"refusing to listen on {args.host} without --tokens: anyone on the network could "
            "read and change the store (use --insecure to do it anyway)"
        )
    targets: dict[str, str] = {}
    for entry in args.copy_target:
        name, equals, url = entry.partition("=")
        if not equals or not name or not url:
            raise ConfigurationError(f"--copy-target wants NAME=URL, not {entry!r}")
        targets[name] = url
    return ServerConfig(
        store_url=store_url,
        base_path=args.base_path,
        tokens=tokens,
        max_request_bytes=args.max_request_bytes,
        copy_targets=targets,
        lock_ttl=timedelta(seconds=args.lock_ttl),
        environ=dict(environ),
        copy_tokens=load_copy_tokens(args.copy_tokens) if args.copy_tokens else {},
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Serve until interrupted."""
    config = build_config(args, environ)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.workers > 1:
        return _run_gunicorn(config, args.host, args.port, args.workers)
    from werkzeug.serving import WSGIRequestHandler, make_server

    class _Handler(WSGIRequestHandler):
        """werkzeug answers ``Expect: 100-continue`` itself when the app starts;
        the base class would answer it a second time while parsing the request."""

        def handle_expect_100(self) -> bool:
            return True

    app = create_app(config)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=_Handler)
    print(
        f"mintstore serving {config.store_url} on http://{args.host}:{server.port}{config.base_path}/",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _run_gunicorn(config: ServerConfig, host: str, port: int, workers: int) -> int:
    from gunicorn.app.base import BaseApplication

    class _Application(BaseApplication):  # type: ignore[misc]
        """gunicorn driven in-process: each worker builds its own app from ``config``."""

        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 300)
            self.cfg.set("limit_request_line", 8190)

        def load(self) -> Any:
            return create_app(config)

    print(
        f"mintstore serving {config.store_url} on http://{host}:{port}{config.base_path}/ "
        f"with {workers} gunicorn workers (pid {os.getpid()})",
        flush=True,
    )
    _Application().run()
    return 0
