"""Swift connections: settings from the environment, and a pool for threads.

A swiftclient ``Connection`` holds one HTTP session and its auth token and is
not safe to share between threads, so the store keeps idle connections in a
pool and lends one per operation (a streaming download keeps its connection
until the reader is closed). New connections reuse the token of the last
authenticated one instead of authenticating again; swiftclient re-auths by
itself when a token expires.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from swiftclient import ClientException, Connection

from mintstore.errors import ConfigurationError

#: OS_* variable -> swiftclient ``os_options`` key.
_OS_OPTIONS = {
    "OS_PROJECT_NAME": "project_name",
    "OS_PROJECT_ID": "project_id",
    "OS_TENANT_NAME": "tenant_name",
    "OS_TENANT_ID": "tenant_id",
    "OS_USER_DOMAIN_NAME": "user_domain_name",
    "OS_USER_DOMAIN_ID": "user_domain_id",
    "OS_PROJECT_DOMAIN_NAME": "project_domain_name",
    "OS_PROJECT_DOMAIN_ID": "project_domain_id",
    "OS_REGION_NAME": "region_name",
    "OS_INTERFACE": "endpoint_type",
    "OS_ENDPOINT_TYPE": "endpoint_type",
    "OS_AUTH_TYPE": "auth_type",
    "OS_APPLICATION_CREDENTIAL_ID": "application_credential_id",
    "OS_APPLICATION_CREDENTIAL_SECRET": "application_credential_secret",
    "OS_USER_ID": "user_id",
}


@dataclass(frozen=True)
class SwiftSettings:
    """Everything needed to open a connection, taken from the environment once."""

    authurl: str | None = None
    user: str | None = None
    key: str | None = None
    auth_version: str = "1"
    os_options: Mapping[str, str] = field(default_factory=dict)
    preauthurl: str | None = None
    preauthtoken: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SwiftSettings:
        """Read v1 (ST_*) or keystone (OS_*) settings; a pre-made token may come with either."""
        preauthurl = environ.get("OS_STORAGE_URL") or None
        preauthtoken = environ.get("OS_AUTH_TOKEN") or None
        if environ.get("ST_AUTH"):
            return cls(
                authurl=environ["ST_AUTH"],
                user=environ.get("ST_USER"),
                key=environ.get("ST_KEY"),
                auth_version="1",
                preauthurl=preauthurl,
                preauthtoken=preauthtoken,
            )
        if environ.get("OS_AUTH_URL"):
            os_options = {
                option: environ[variable]
                for variable, option in _OS_OPTIONS.items()
                if environ.get(variable)
            }
            version = environ.get("OS_IDENTITY_API_VERSION") or environ.get("OS_AUTH_VERSION")
            if not version:
                version = "3" if any("domain" in option for option in os_options) else "2.0"
            return cls(
                authurl=environ["OS_AUTH_URL"],
                user=environ.get("OS_USERNAME"),
                key=environ.get("OS_PASSWORD"),
                auth_version=version,
                os_options=os_options,
                preauthurl=preauthurl,
                preauthtoken=preauthtoken,
            )
        if preauthurl and preauthtoken:
            return cls(preauthurl=preauthurl, preauthtoken=preauthtoken)
        raise ConfigurationError(
            "swift:// needs ST_AUTH/ST_USER/ST_KEY (v1 auth), OS_AUTH_URL/OS_USERNAME/"
            "OS_PASSWORD/OS_PROJECT_NAME... (keystone), or OS_STORAGE_URL with OS_AUTH_TOKEN"
        )


class ConnectionPool:
    """Idle swiftclient connections, lent to one thread at a time."""

    def __init__(self, settings: SwiftSettings, *, retries: int = 3, timeout: float = 60) -> None:
        self._settings = settings
        self._retries = retries
        self._timeout = timeout
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._token: tuple[str, str] | None = None
        if settings.preauthurl and settings.preauthtoken:
            self._token = (settings.preauthurl, settings.preauthtoken)

    def _new(self) -> Connection:
        settings = self._settings
        with self._lock:
            token = self._token
        options: dict[str, Any] = dict(settings.os_options)
        return Connection(
            authurl=settings.authurl,
            user=settings.user,
            key=settings.key,
            auth_version=settings.auth_version,
            os_options=options,
            preauthurl=token[0] if token else None,
            preauthtoken=token[1] if token else None,
            retries=self._retries,
            starting_backoff=0.5,
            max_backoff=8,
            timeout=self._timeout,
        )

    def take(self) -> Connection:
        """Lend an idle connection, or a new one when all are in use."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new()

    def give_back(self, connection: Connection) -> None:
        """Return a connection after use, remembering its token for new ones."""
        url, token = getattr(connection, "url", None), getattr(connection, "token", None)
        with self._lock:
            if url and token:
                self._token = (url, token)
            self._idle.append(connection)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for one request-response exchange.

        An error response (404, 412...) leaves the connection reusable; a
        connection whose exchange broke otherwise is dropped, since its HTTP
        session may hold a half-read response.
        """
        connection = self.take()
        try:
            yield connection
        except ClientException:
            self.give_back(connection)
            raise
        except BaseException:
            connection.close()
            raise
        self.give_back(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
