"""Server configuration, built once at the edge of the program.

Everything the HTTP layer needs to know about its deployment lives in one
frozen :class:`ServerConfig`, made by the CLI (or a WSGI entry point) from its
arguments and the environment. Nothing below the app factory reads
``os.environ``: a request handler that needs a setting finds it here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from mintstore.errors import ConfigurationError
from mintstore.store import StoreConfig

T = TypeVar("T")

#: Scopes a token may carry; each one includes the ones before it, so an
#: administrator never needs three entries to do everything.
SCOPES = ("read", "write", "admin")


@dataclass(frozen=True)
class Token:
    """One bearer token: a name for the change log, a secret digest, its scopes.

    Only the SHA-256 of the secret is kept so a tokens file (or a memory
    dump) never needs to hold the secret itself.
    """

    name: str
    sha256: str
    scopes: frozenset[str]

    def matches(self, secret: str) -> bool:
        """Constant-time comparison of a presented secret with this token."""
        digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        return hmac.compare_digest(digest, self.sha256)

    def allows(self, scope: str) -> bool:
        """True if this token grants ``scope`` (directly or by a higher scope)."""
        wanted = SCOPES.index(scope)
        return any(SCOPES.index(have) >= wanted for have in self.scopes)


def load_tokens(path: Path) -> tuple[Token, ...]:
    """Read a tokens file.

    Format (JSON): ``{"tokens": [{"name": "alice", "token": "s3cret",
    "scopes": ["read", "write"]}, ...]}``; ``"sha256": "<hex>"`` may replace
    ``"token"`` so that the file holds no secret.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read tokens file {path}: {exc}") from exc
    entries = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"tokens file {path} needs a non-empty 'tokens' list")
    tokens: list[Token] = []
    for entry in entries:
        tokens.append(_parse_token(entry, path))
    names = [token.name for token in tokens]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"tokens file {path} repeats a token name")
    return tuple(tokens)


def _parse_token(entry: object, path: Path) -> Token:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"tokens file {path}: each token must be an object")
    name = entry.get("name")
    scopes = entry.get("scopes")
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"tokens file {path}: a token has no name")
    if not isinstance(scopes, list) or not scopes or not set(scopes) <= set(SCOPES):
        raise ConfigurationError(
            f"tokens file {path}: token {name!r} needs scopes from {', '.join(SCOPES)}"
        )
    secret = entry.get("token")
    digest = entry.get("sha256")
    if isinstance(secret, str) and secret:
        digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    if not isinstance(digest, str) or len(digest) != 64:
        raise ConfigurationError(f"tokens file {path}: token {name!r} needs 'token' or 'sha256'")
    return Token(name=name, sha256=digest.lower(), scopes=frozenset(scopes))


def load_copy_tokens(path: Path) -> dict[str, str]:
    """Read a copy-tokens file: ``{"http://other:8080/MINTServer": "secret", ...}``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read copy tokens file {path}: {exc}") from exc
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and k.startswith(("http://", "https://")) and isinstance(v, str) and v
        for k, v in document.items()
    ):
        raise ConfigurationError(
            f"copy tokens file {path} must map server URLs (http[s]://...) to tokens"
        )
    return dict(document)


def normalize_base_path(base_path: str) -> str:
    """``"MINTServer/"`` -> ``"/MINTServer"``; the root stays ``""``.

    Blueprints are registered under this prefix, so it must start with a
    slash and must not end with one.
    """
    stripped = base_path.strip().strip("/")
    if any(part in ("", ".", "..") for part in stripped.split("/")) and stripped:
        raise ConfigurationError(f"invalid base path {base_path!r}")
    return "/" + stripped if stripped else ""


@dataclass(frozen=True)
class ServerConfig:
    """What one mintstore server is: its store, mount point, security and limits."""

    store_url: str
    base_path: str = ""
    tokens: tuple[Token, ...] = ()
    #: Largest request body accepted (413 beyond it); uploads are streamed,
    #: so this bounds disk spooling, not memory.
    max_request_bytes: int = 8 * 1024**3
    #: Largest metadata document accepted in an upload (XML/GPB/JSON are
    #: parsed in memory, so they get their own, much smaller, limit).
    max_metadata_bytes: int = 256 * 1024**2
    #: Named stores ``?action=copy&target=NAME`` may copy to (name -> URL).
    copy_targets: Mapping[str, str] = field(default_factory=dict)
    #: Lock lifetime; None keeps the engine's (``engine.lock_ttl``).
    lock_ttl: timedelta | None = None
    #: Every tunable of the storage engine (freshness, caches, settle, gc grace...).
    engine: StoreConfig = field(default_factory=StoreConfig)
    #: Where credentials for the store SDKs are looked up (given once).
    environ: Mapping[str, str] = field(default_factory=dict)
    #: Directory for spooled upload parts (None: the system default).
    spool_dir: str | None = None
    #: Number of reverse proxies whose X-Forwarded-* headers are trusted (0: none).
    proxy_headers: int = 0
    #: One access-log line per request.
    access_log: bool = True
    #: prometheus-client's multi-process directory under gunicorn (None: one process).
    metrics_dir: str | None = None
    #: Options of further components (DICOMweb, DIMSE...), by their options class.
    components: Mapping[type, Any] = field(default_factory=dict)
    #: Bearer tokens for copying to other mintstore servers by URL
    #: (``?action=copy&target=http://...``): server base URL -> token.
    copy_tokens: Mapping[str, str] = field(default_factory=dict)

    def copy_token(self, url: str) -> str | None:
        """The token configured for a target server URL (trailing slashes ignored)."""
        wanted = url.rstrip("/")
        for target, token in self.copy_tokens.items():
            if target.rstrip("/") == wanted:
                return token
        return None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_path", normalize_base_path(self.base_path))

    def component(self, options_class: type[T]) -> T:
        """A component's options: those configured, else the class defaults."""
        found = self.components.get(options_class)
        return found if isinstance(found, options_class) else options_class()

    @property
    def store_config(self) -> StoreConfig:
        """The engine configuration this server's stores are opened with."""
        if self.lock_ttl is None:
            return self.engine
        return replace(self.engine, lock_ttl=self.lock_ttl)

    @property
    def auth_required(self) -> bool:
        """True when tokens are configured: every route but health needs one."""
        return bool(self.tokens)
