"""Tokens over real HTTP, lock expiry, copy/move, and the serve command's safety checks."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pytest

from mintstore.cli import build_parser
from mintstore.client import MintClient
from mintstore.commands.serve import build_config
from mintstore.errors import (
    AccessDenied,
    ConfigurationError,
    InvalidInput,
    LockInvalid,
    StudyGone,
)
from mintstore.model import Attribute, Study
from mintstore.testing.mint_server import ServerProcess

from .data import RI_STUDY_UID, ri_dicom_files


def _serve_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def test_serve_refuses_a_public_bind_without_tokens(tmp_path: Path) -> None:
    store = ["--store", "memory://x"]
    with pytest.raises(ConfigurationError, match="refusing"):
        build_config(_serve_args(*store, "--host", "0.0.0.0"), {})
    assert build_config(_serve_args(*store, "--host", "0.0.0.0", "--insecure"), {}).tokens == ()
    assert build_config(_serve_args(*store, "--host", "::1"), {}).store_url == "memory://x"
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"tokens": [{"name": "a", "token": "b", "scopes": ["read"]}]}))
    config = build_config(_serve_args(*store, "--host", "0.0.0.0", "--tokens", str(tokens)), {})
    assert config.auth_required


def test_serve_defaults_to_a_file_store_in_mint_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = build_config(_serve_args(), {})
    assert config.store_url == (tmp_path / "mint-data").as_uri()
    assert (tmp_path / "mint-data").is_dir() and config.base_path == ""


def test_tokens_over_http_and_remote_user_in_the_change_log(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps(
            {
                "tokens": [
                    {"name": "pacs-bridge", "token": "write-secret", "scopes": ["write"]},
                    {"name": "viewer", "token": "read-secret", "scopes": ["read"]},
                ]
            }
        )
    )
    with ServerProcess("memory://tokens", options=["--tokens", str(tokens)]) as server:
        with pytest.raises(AccessDenied):
            MintClient(server.url).study_version(RI_STUDY_UID)
        with pytest.raises(AccessDenied):
            MintClient(server.url, token="read-secret").push_files(ri_dicom_files()[:1])
        writer = MintClient(server.url, token="write-secret")
        writer.push_files(ri_dicom_files()[:1])
        log = MintClient(server.url, token="read-secret").changelog(RI_STUDY_UID)
        assert [(c["remoteUser"], c["remoteHost"]) for c in log] == [("pacs-bridge", "127.0.0.1")]
        with pytest.raises(AccessDenied):  # deleting needs the admin scope
            writer.delete(RI_STUDY_UID)


def test_expired_lock_is_refused() -> None:
    # The engine refuses a lease that expires within its 5 s safety margin, so a
    # 6 s lease is as good as expired 1.5 s after it was taken.
    with ServerProcess("memory://locks", options=["--lock-ttl", "6"]) as server:
        client = MintClient(server.url)
        client.push_files(ri_dicom_files()[:1])
        token, _ = client.lock(RI_STUDY_UID)
        time.sleep(1.5)
        delta = Study(study_instance_uid=RI_STUDY_UID)
        delta.attributes[0x00081030] = Attribute(tag=0x00081030, vr="LO", val="late")
        with pytest.raises(LockInvalid):
            client.update(RI_STUDY_UID, delta, lock_token=token)
        assert client.study_version(RI_STUDY_UID) == 0
        assert client.metadata(RI_STUDY_UID).attributes.get(0x00081030) is None


def test_copy_to_a_named_store_and_move_to_another_server(tmp_path: Path) -> None:
    target_dir = tmp_path / "target"
    target_dir.mkdir()
    named = f"archive={target_dir.as_uri()}"
    with (
        ServerProcess("memory://source", options=["--copy-target", named]) as source,
        ServerProcess(target_dir.as_uri()) as archive,
        ServerProcess("memory://other") as other,
    ):
        client = MintClient(source.url)
        client.push_files(ri_dicom_files())
        report = client.copy(RI_STUDY_UID, "archive")
        assert int(report["bytesSent"]) > 4 * 512 * 512 * 2
        again = client.copy(RI_STUDY_UID, "archive")
        assert int(again["bytesSent"]) < int(report["bytesSent"]) // 100  # items skipped
        archived = MintClient(archive.url)
        assert archived.metadata(RI_STUDY_UID).instance_count == 4
        for bid in range(4):
            assert archived.binary_item(RI_STUDY_UID, bid) == client.binary_item(RI_STUDY_UID, bid)
        moved = client.copy(RI_STUDY_UID, other.url, move=True)
        assert moved["action"] == "move"
        assert MintClient(other.url).metadata(RI_STUDY_UID).instance_count == 4
        with pytest.raises(StudyGone):
            client.study_version(RI_STUDY_UID)
        with pytest.raises(InvalidInput, match="unknown copy target"):
            client.copy(RI_STUDY_UID, "nowhere")
