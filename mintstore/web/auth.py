"""Bearer-token authentication with read/write/admin scopes (MINT-SPEC 8).

When the server has tokens, every request except the health check must carry
``Authorization: Bearer <token>``; safe methods need ``read``, anything that
changes the store ``write``, and destructive or cross-store actions ``admin``
(checked by the route with :func:`require_scope`). The token's name becomes
the ``remoteUser`` of the change log.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from .config import ServerConfig, Token

#: Endpoints anyone may call, even when tokens are configured.
PUBLIC_ENDPOINTS = frozenset(
    {"system.healthz", "system.readyz", "static", "browser.login", "browser.logout"}
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The browser view's sign-in cookie (HttpOnly, SameSite=Strict); read-only use.
COOKIE = "mintstore_token"


class _BearerChallenge(Unauthorized):
    def __init__(self, description: str) -> None:
        super().__init__(description, www_authenticate=None)

    def get_headers(self, environ: object = None, scope: object = None) -> list[tuple[str, str]]:
        headers = super().get_headers(environ, scope)  # type: ignore[arg-type]
        return [*headers, ("WWW-Authenticate", 'Bearer realm="mintstore"')]


def _config() -> ServerConfig:
    config: ServerConfig = current_app.extensions["mintstore.config"]
    return config


def current_token() -> Token | None:
    """The token that authenticated this request (None when auth is off)."""
    token: Token | None = g.get("mint_token")
    return token


def require_scope(scope: str) -> None:
    """Refuse the request (403) unless its token grants ``scope``.

    A no-op when the server runs without tokens (loopback development).
    """
    if not _config().auth_required:
        return
    token = current_token()
    if token is None:
        raise _BearerChallenge("this route needs a bearer token")
    if not token.allows(scope):
        raise Forbidden(f"token {token.name!r} lacks the {scope!r} scope")


def _authenticate() -> None:
    config = _config()
    if not config.auth_required or request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header and request.method in ("GET", "HEAD") and request.cookies.get(COOKIE):
        # The browser view's cookie: for viewing only, so a cross-site request
        # riding on it can never change anything.
        scheme, secret = "bearer", request.cookies.get(COOKIE, "")
    if scheme.lower() != "bearer" or not secret.strip():
        _send_browser_to_login()
        raise _BearerChallenge("missing bearer token (Authorization: Bearer <token>)")
    for token in config.tokens:
        if token.matches(secret.strip()):
            g.mint_token = token
            break
    else:
        raise _BearerChallenge("unknown bearer token")
    require_scope("read" if request.method in SAFE_METHODS else "write")


def _send_browser_to_login() -> None:
    """A person with a browser gets the sign-in form instead of a bare 401."""
    from urllib.parse import quote

    from flask import abort, redirect

    from .negotiate import wants_html

    if request.method == "GET" and wants_html():
        base = request.url_root.rstrip("/") + _config().base_path
        target = quote(request.full_path.rstrip("?"), safe="")
        abort(redirect(f"{base}/browse/login?next={target}", code=303))


def install_auth(app: Flask) -> None:
    """Run authentication before every request; called once by the app factory."""
    app.before_request(_authenticate)
