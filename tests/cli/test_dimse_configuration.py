"""The DIMSE gateway's options are the ``[dimse]`` section of the one configuration model."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from mintstore.cli import build_parser
from mintstore.commands import dimse as dimse_command
from mintstore.commands.serve import load_configuration
from mintstore.dimse.config import Destination
from mintstore.dimse.options import DimseOptions
from mintstore.errors import ConfigurationError
from mintstore.store import StoreConfig


def test_the_dimse_command_reads_file_environment_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "mint.toml"
    # One file for serve and the gateway: the other sections are not unknown settings.
    config.write_text(
        "[server]\nport = 1000\n[store]\nupload_workers = 3\n[dicomweb]\nmax_results = 9\n"
        '[dimse]\nae_title = "FROMFILE"\nport = 4000\norphan_age = 30\n'
        'destinations = ["PEER=127.0.0.1:104"]\n'
    )
    environ = {"MINTSTORE_DIMSE_MAX_PDU": "65536", "MINTSTORE_DIMSE_PORT": "4001"}
    args = build_parser().parse_args(
        ["dimse", "--config", str(config), "--port", "4002", "--allow-calling-ae", "SCU"]
    )
    loaded = dimse_command.load_configuration(args, environ)
    gateway = loaded.get(DimseOptions).gateway_config()
    assert gateway.ae_title == "FROMFILE" and gateway.port == 4002 and gateway.max_pdu == 65536
    assert gateway.orphan_age == timedelta(seconds=30)
    assert gateway.destinations == {"PEER": Destination("127.0.0.1", 104)}
    assert gateway.allowed_calling_aes == frozenset({"SCU"}) and gateway.host == "127.0.0.1"
    assert loaded.get(StoreConfig).upload_workers == 3
    # Unset port: the standalone gateway still listens on the DICOM default it always had.
    bare = dimse_command.build_config(build_parser().parse_args(["dimse"]), {})
    assert bare.port == 11112


def test_serve_runs_a_gateway_only_when_the_port_is_set_and_passes_its_flags_on() -> None:
    plain = load_configuration(build_parser().parse_args(["serve"]), {})
    assert plain.get(DimseOptions).port is None
    args = build_parser().parse_args(
        ["serve", "--dicom-port", "0", "--ae-title", "MINTHTTP", "--dimse-max-pdu", "0",
         "--store-upload-workers", "2", "--threads", "3"]
    )  # fmt: skip
    loaded = load_configuration(args, {"MINTSTORE_DIMSE_BATCH_MAX_INSTANCES": "5"})
    passed = dimse_command.flags_given(loaded, ("store", "dimse"))
    assert passed == [
        "--store-upload-workers", "2", "--dimse-port", "0", "--ae-title", "MINTHTTP",
        "--dimse-max-pdu", "0",
    ]  # fmt: skip
    # The child parses exactly what serve passed (environment variables reach it directly).
    child = build_parser().parse_args(["dimse", *passed])
    again = dimse_command.load_configuration(child, {"MINTSTORE_DIMSE_BATCH_MAX_INSTANCES": "5"})
    assert again.get(DimseOptions) == loaded.get(DimseOptions)
    assert {k: v for k, v in again.values.items() if k.startswith(("store.", "dimse."))} == {
        k: v for k, v in loaded.values.items() if k.startswith(("store.", "dimse."))
    }


def test_bad_gateway_options_are_configuration_errors() -> None:
    for argv in (["--ae-title", "A\\B"], ["--destination", "PEER"], ["--tls-cert", "c.pem"]):
        args = build_parser().parse_args(["dimse", *argv])
        with pytest.raises(ConfigurationError):
            dimse_command.build_config(args, {})


def test_the_fast_start_path_does_not_import_the_web_app() -> None:
    probe = (
        "import sys, mintstore.commands.dimse_entry as e; "
        "p = e.argparse.ArgumentParser(); e.command.register(p.add_subparsers()); "
        "print(sorted(m for m in sys.modules if m.startswith(('flask', 'mintstore.web.app'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
