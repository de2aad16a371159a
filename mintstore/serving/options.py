"""The tunables of the HTTP front (the ``[server]`` section of the configuration)."""

from __future__ import annotations

from dataclasses import dataclass

from mintstore.configuration import option


@dataclass(frozen=True)
class ServingOptions:
    """How ``mintstore serve`` listens, how many requests it runs at once, how it logs."""

    host: str = option("127.0.0.1", "address to listen on")
    port: int = option(8080, "TCP port (0: any free port, printed at start)")
    workers: int = option(1, "gunicorn worker processes")
    threads: int = option(8, "request threads per worker process")
    max_connections: int = option(
        1000, "open connections per worker; beyond it new connections wait in the backlog"
    )
    keepalive: float = option(5.0, "seconds an idle kept-alive connection stays open")
    header_timeout: float = option(
        15.0, "seconds a client has to send a whole request head (slow clients are cut off)"
    )
    io_timeout: float = option(
        60.0, "seconds a body read or a response write may wait for the client"
    )
    min_body_rate: float = option(
        500.0,
        "bytes/s a request body must arrive at while the server waits for it, measured "
        "over body_rate_window seconds of waiting (0: no minimum); slower gets a 408",
    )
    body_rate_window: float = option(
        20.0, "seconds of waiting for a request body's bytes over which min_body_rate is judged"
    )
    max_uploads: int = option(
        6,
        "requests with a body a worker serves at once (at most threads - 1); more are "
        "answered 503 with Retry-After at once, so slow uploads cannot take every thread",
    )
    graceful_timeout: float = option(
        30.0, "on SIGTERM, seconds in-flight requests get to finish before the workers stop"
    )
    proxy_headers: bool = option(
        False, "trust X-Forwarded-For/Proto/Host/Port/Prefix (only behind a reverse proxy)"
    )
    proxy_hops: int = option(1, "how many reverse proxies in front set X-Forwarded-* headers")
    log_format: str = option("text", "log line format", choices=("text", "json"))
    log_level: str = option(
        "info", "lowest level logged", choices=("debug", "info", "warning", "error")
    )
    access_log: bool = option(True, "one log line per request")

    def __post_init__(self) -> None:
        for name in ("workers", "threads", "max_connections", "max_uploads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be 0-65535")
        if self.min_body_rate < 0:
            raise ValueError("min_body_rate must not be negative")
        for name in (
            "keepalive",
            "header_timeout",
            "io_timeout",
            "graceful_timeout",
            "body_rate_window",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.proxy_hops < 1:
            raise ValueError("proxy_hops must be at least 1")
