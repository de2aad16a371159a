"""Configuration files for a one-node, one-replica Swift on loopback.

Four WSGI servers (proxy, account, container, object) share one device
directory; the proxy authenticates with tempauth (tokens in memcached) and
runs the middleware our adapter relies on (SLO for large objects, DLO,
copy). Every server also serves ``/healthcheck`` so a caller can tell when
the whole cluster, not only the proxy, is up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SwiftPorts:
    proxy: int
    account: int
    container: int
    object: int
    memcached: int

    def http_ports(self) -> list[int]:
        return [self.proxy, self.account, self.container, self.object]


_PROXY_PIPELINE = (
    "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats "
    "tempauth copy dlo slo proxy-logging proxy-server"
)


def _server_section(root: Path, port: int) -> str:
    return f"""[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 1
user = root
swift_dir = {root / "etc"}
devices = {root / "node"}
mount_check = false
disable_fallocate = true
log_address = /nonexistent
log_level = WARNING
"""


def _storage_server(root: Path, service: str, port: int) -> str:
    return (
        _server_section(root, port)
        + f"""
[pipeline:main]
pipeline = healthcheck {service}-server

[app:{service}-server]
use = egg:swift#{service}

[filter:healthcheck]
use = egg:swift#healthcheck

[{service}-replicator]
[{service}-auditor]
"""
    )


def _proxy_server(root: Path, ports: SwiftPorts) -> str:
    filters = {
        "tempauth": "use = egg:swift#tempauth\nuser_test_tester = testing .admin",
        "cache": f"use = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{ports.memcached}",
        "catch_errors": "use = egg:swift#catch_errors",
        "gatekeeper": "use = egg:swift#gatekeeper",
        "healthcheck": "use = egg:swift#healthcheck",
        "proxy-logging": "use = egg:swift#proxy_logging",
        "listing_formats": "use = egg:swift#listing_formats",
        "copy": "use = egg:swift#copy",
        "dlo": "use = egg:swift#dlo",
        "slo": "use = egg:swift#slo",
    }
    sections = "\n".join(f"[filter:{name}]\n{body}\n" for name, body in filters.items())
    return (
        _server_section(root, ports.proxy)
        + f"""
[pipeline:main]
pipeline = {_PROXY_PIPELINE}

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

{sections}"""
    )


def write_swift_config(root: Path, ports: SwiftPorts, *, listing_limit: int = 10000) -> Path:
    """Write the cluster's configuration under ``root``; return its ``etc`` directory.

    ``listing_limit`` is Swift's ``container_listing_limit``: the most names
    one listing request returns.
    """
    etc = root / "etc"
    for directory in (etc, root / "node" / "d1", root / "run"):
        directory.mkdir(parents=True, exist_ok=True)
    (etc / "swift.conf").write_text(
        "[swift-hash]\n"
        "swift_hash_path_prefix = mintstore-test\n"
        "swift_hash_path_suffix = mintstore-test\n\n"
        "[storage-policy:0]\nname = gold\ndefault = yes\n\n"
        f"[swift-constraints]\ncontainer_listing_limit = {listing_limit}\n"
        f"account_listing_limit = {listing_limit}\n"
    )
    for service, port in (
        ("account", ports.account),
        ("container", ports.container),
        ("object", ports.object),
    ):
        (etc / f"{service}-server.conf").write_text(_storage_server(root, service, port))
    (etc / "proxy-server.conf").write_text(_proxy_server(root, ports))
    return etc
