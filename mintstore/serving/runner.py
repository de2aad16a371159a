"""Run the application under gunicorn: the default server of ``mintstore serve``.

gunicorn is driven in-process (no command line of its own, no config file,
no control socket): each worker builds its own application from the one
:class:`~mintstore.web.ServerConfig` after the fork, so no connection to an
object store is ever shared between processes. The master prints the
listening line once the socket is bound (port 0 gives a free port), keeps
the Prometheus multi-process directory in a temporary directory it removes
at exit, and stops gracefully on SIGTERM: the listening socket is closed at
once (new connections are refused), in-flight requests get
``graceful_timeout`` seconds, the process exits 0.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from .continue_gate import ContinueGate, pre_request
from .gunicorn_logging import PropagatingLogger
from .options import ServingOptions
from .worker import configured

#: The variable prometheus-client reads (at import) to share metrics between processes.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_directory() -> str | None:
    """A fresh directory for the workers' metric files, announced to prometheus-client.

    Must run before the first metric is built: prometheus-client picks its
    value store (in memory, or files shared by processes) when a metric is
    made, from the value class chosen here. Returns None (metrics stay
    per-process) when a metric already exists, which only happens when
    ``serve`` is called inside a process that already ran an app (tests).
    """
    from prometheus_client import values

    from mintstore import metrics

    if metrics.built():
        return None
    directory = tempfile.mkdtemp(prefix="mintstore-metrics-")
    os.environ[MULTIPROC_VARIABLE] = directory
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return directory


def abandon_metrics_directory(directory: str | None) -> None:
    """Undo :func:`prepare_metrics_directory` (serve did not start after all)."""
    from prometheus_client import values

    if directory is None:
        return
    shutil.rmtree(directory, ignore_errors=True)
    if os.environ.get(MULTIPROC_VARIABLE) == directory:
        del os.environ[MULTIPROC_VARIABLE]
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def serve(
    load_app: Callable[[], Any],
    options: ServingOptions,
    *,
    banner: Callable[[str, int], str],
    metrics_directory: str | None,
) -> int:
    """Serve until SIGTERM/SIGINT; return the exit status (0 after a graceful stop).

    ``load_app`` builds the WSGI application in each worker; ``banner`` makes
    the listening line from the bound host and port.
    """

    def when_ready(server: Any) -> None:
        host, port = server.LISTENERS[0].sock.getsockname()[:2]
        print(banner(host, port), flush=True)

    def child_exit(server: Any, worker: Any) -> None:
        if metrics_directory is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

    class _Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": f"{options.host}:{options.port}",
                "workers": options.workers,
                "worker_class": configured(options),
                "threads": options.threads,
                "worker_connections": options.max_connections + options.threads,
                # gunicorn takes whole seconds here.
                "keepalive": math.ceil(options.keepalive),
                "graceful_timeout": math.ceil(options.graceful_timeout),
                "timeout": math.ceil(max(60.0, options.io_timeout * 2)),
                "limit_request_line": 8190,
                "control_socket_disable": True,
                "logger_class": PropagatingLogger,
                "loglevel": options.log_level,
                "accesslog": None,
                # X-Forwarded-* are ProxyFix's, and only with --proxy-headers.
                "forwarded_allow_ips": "",
                "pre_request": pre_request,
                "when_ready": when_ready,
                "child_exit": child_exit,
                "proc_name": "mintstore",
            }
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return ContinueGate(load_app())

    master = os.getpid()
    try:
        _Application().run()
    except SystemExit as stop:
        if os.getpid() != master:
            raise  # a worker leaving: its exit is the arbiter's business
        code = stop.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        if os.getpid() == master:
            if metrics_directory is not None:
                shutil.rmtree(metrics_directory, ignore_errors=True)
            sys.stdout.flush()
    return 0
