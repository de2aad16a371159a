"""Optional TLS (PS3.15): with a certificate configured the gateway speaks only TLS;
with a CA as well, a peer without a certificate from that CA is refused."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from mintstore.testing.dimse_server import DimseProcess


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _echo(port: int, context: ssl.SSLContext | None) -> bool:
    ae = AE(ae_title="TLSSCU")
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.network_timeout = 3
    tls = (context, "127.0.0.1") if context is not None else None
    assoc = ae.associate("127.0.0.1", port, ae_title="MINTSTORE", tls_args=tls)
    if not assoc.is_established:
        return False
    status = assoc.send_c_echo()
    assoc.release()
    return bool(status and status.Status == 0x0000)


@pytest.fixture
def certificates(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    return {name: _certificate(tmp_path, name) for name in ("server", "client")}


def test_tls_only_and_mutual(tmp_path: Path, certificates: dict[str, tuple[Path, Path]]) -> None:
    server_cert, server_key = certificates["server"]
    client_cert, client_key = certificates["client"]
    options = ["--tls-cert", str(server_cert), "--tls-key", str(server_key),
               "--tls-ca", str(client_cert)]  # fmt: skip
    with DimseProcess((tmp_path / "store").as_uri(), options=options) as gateway:
        trusted = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(server_cert))
        trusted.load_cert_chain(str(client_cert), str(client_key))
        assert _echo(gateway.port, trusted)
        anonymous = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(server_cert))
        assert not _echo(gateway.port, anonymous)  # no client certificate: refused
        assert not _echo(gateway.port, None)  # plain TCP: no association
        assert gateway.alive()
