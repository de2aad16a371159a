"""One access line and one set of metrics per request, with a request id.

:class:`RequestLog` is WSGI middleware so that it measures what the client
sees: the duration runs until the last byte of a streamed response and the
byte count is what was sent. The request id is the client's ``X-Request-ID``
when it is a sane token (a proxy's id is kept across hops), a fresh one
otherwise; it is echoed in the response's ``X-Request-ID`` and written on the
access line. Flask fills in what only it knows (the route template, the
token's name, the reason of a 4xx) through :func:`install_request_context`.

4xx lines are logged at INFO with their reason; 5xx lines at ERROR (the
error handler logs the traceback itself).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, Response, request

from mintstore import metrics

from .auth import current_token
from .body_guard import INPUT_KEY

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

log = logging.getLogger("mintstore.access")

REQUEST_ID_KEY = "mintstore.request_id"
ROUTE_KEY = "mintstore.route"
USER_KEY = "mintstore.user"
REASON_KEY = "mintstore.reason"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def install_request_context(app: Flask) -> None:
    """Let the access log know the route template and user (called by the app factory)."""

    @app.after_request
    def _note(response: Response) -> Response:
        rule = request.url_rule
        request.environ[ROUTE_KEY] = rule.rule if rule is not None else "(unmatched)"
        token = current_token()
        if token is not None:
            request.environ[USER_KEY] = token.name
        return response


def note_reason(message: str) -> None:
    """Record why a request was refused (the error handlers call this)."""
    request.environ[REASON_KEY] = message


class _Observed:
    """The response iterable, counting bytes and logging when it is closed."""

    def __init__(self, body: Iterable[bytes], finish: Callable[[int], None]) -> None:
        self._body = body
        self._finish = finish
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish(self._sent)


def _observe_file(body: Any, finish: Callable[[int], None], length: list[int]) -> Any:
    original = getattr(body, "close", None)

    def close() -> None:
        try:
            if original is not None:
                original()
        finally:
            finish(length[0])

    body.close = close
    return body


class RequestLog:
    """WSGI middleware: request id, access line, request metrics."""

    def __init__(self, app: WSGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex
        environ[REQUEST_ID_KEY] = request_id
        status_holder: list[int] = [0]
        length_holder: list[int] = [0]

        def observing_start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status_holder[0] = int(status.split(" ", 1)[0])
            for name, value in headers:
                if name.lower() == "content-length" and value.isdigit():
                    length_holder[0] = int(value)
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, *rest)

        def finish(sent: int) -> None:
            self._finish(environ, status_holder[0], sent, time.perf_counter() - started)

        try:
            body = self.app(environ, observing_start)
        except BaseException:
            finish(0)
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
            # Keep the server's file wrapper (it may sendfile): log on its close,
            # with the declared length as the bytes sent.
            return _observe_file(body, finish, length_holder)
        return _Observed(body, finish)

    def _finish(self, environ: dict[str, Any], status: int, sent: int, seconds: float) -> None:
        route = environ.get(ROUTE_KEY, "(unmatched)")
        method = environ.get("REQUEST_METHOD", "")
        checked = environ.get(INPUT_KEY)
        received = checked.received if checked is not None else 0
        metrics.get().http_requests.labels(route, method, str(status)).inc()
        metrics.get().http_duration.labels(route, method).observe(seconds)
        if received:
            metrics.get().http_received.labels(route).inc(received)
        if sent:
            metrics.get().http_sent.labels(route).inc(sent)
        if not self.access_log:
            return
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        fields = {
            "request_id": environ.get(REQUEST_ID_KEY),
            "method": method,
            "path": path + ("?" + query if query else ""),
            "status": status,
            "bytes": sent,
            "bytes_in": received,
            "duration_ms": round(seconds * 1000, 1),
            "user": environ.get(USER_KEY, "-"),
            "client": environ.get("REMOTE_ADDR", ""),
            "route": route,
        }
        reason = environ.get(REASON_KEY)
        if reason and status >= 400:
            fields["reason"] = reason
        level = logging.ERROR if status >= 500 else logging.INFO
        log.log(
            level,
            "%s %s %d",
            method,
            fields["path"],
            status,
            extra={"fields": fields, "fields_in_message": ("method", "path", "status")},
        )
