"""One configuration model: TOML file < MINTSTORE_* environment < flags, from dataclass fields."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from mintstore.cli import build_parser, main
from mintstore.commands.serve import build_config, load_configuration
from mintstore.configuration import Section, add_flags, load, option, render
from mintstore.errors import ConfigurationError
from mintstore.serving.options import ServingOptions
from mintstore.store import StoreConfig


def _serve(*argv: str) -> object:
    return build_parser().parse_args(["serve", *argv])


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    config = tmp_path / "mint.toml"
    config.write_text(
        '[server]\nport = 1000\nthreads = 3\n[http]\nbase_path = "/from-file"\n'
        "[store]\nupload_workers = 2\ncompact_every = 7\n[store.create_settle]\nfactor = 9.5\n"
    )
    environ = {"MINTSTORE_PORT": "2000", "MINTSTORE_STORE_UPLOAD_WORKERS": "5"}
    args = _serve("--config", str(config), "--port", "3000", "--store", "memory://x")
    loaded = load_configuration(args, environ)  # type: ignore[arg-type]
    serving = loaded.get(ServingOptions)
    engine = loaded.get(StoreConfig)
    assert serving.port == 3000 and loaded.origins["server.port"] == "flag --port"
    assert serving.threads == 3 and loaded.origins["server.threads"] == f"file {config}"
    assert engine.upload_workers == 5
    assert loaded.origins["store.upload_workers"] == "env MINTSTORE_STORE_UPLOAD_WORKERS"
    assert engine.compact_every == 7 and engine.create_settle.factor == 9.5
    assert engine.lock_ttl == timedelta(minutes=10)
    assert serving.workers == 1 and loaded.origins["server.workers"] == "default"
    server = build_config(args, environ)  # type: ignore[arg-type]
    assert server.base_path == "/from-file" and server.store_url == "memory://x"
    assert server.store_config.upload_workers == 5
    # MINTSTORE_CONFIG names the file when --config does not.
    by_env = load_configuration(_serve(), {"MINTSTORE_CONFIG": str(config)})  # type: ignore[arg-type]
    assert by_env.get(ServingOptions).port == 1000


def test_every_engine_tunable_is_reachable() -> None:
    import argparse

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    help_text = subparsers.choices["serve"].format_help()
    assert "``" not in help_text and "(default: 8080; env MINTSTORE_PORT)" in " ".join(
        help_text.split()
    )
    from mintstore.commands.serve_options import SECTIONS
    from mintstore.configuration.sources import all_options

    undocumented = [o.key for o in all_options(SECTIONS) if not o.help]
    assert not undocumented, f"options without help text: {undocumented}"
    wiring = {"clock", "codec", "converter"}
    for spec in dataclasses.fields(StoreConfig):
        if spec.name in wiring:
            continue
        flag = "--store-" + spec.name.replace("_", "-")
        assert flag in help_text, f"StoreConfig.{spec.name} has no flag"


def test_a_component_contributes_its_own_options_and_secrets_stay_hidden(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class GatewayOptions:
        """Options of a made-up component.

        * ``port``: where it listens.
        """

        port: int = 11112
        ae_title: str = option("MINTSTORE", "our AE title")
        password: str | None = option(None, "shared secret", secret=True)
        peers: tuple[str, ...] = ()
        idle: timedelta = timedelta(seconds=30)

    sections = (Section("gateway", GatewayOptions, flag_prefix="gateway-"),)
    import argparse

    parser = argparse.ArgumentParser()
    add_flags(parser, sections)
    args = parser.parse_args(["--gateway-port", "104", "--gateway-peers", "A=h:1"])
    environ = {"MINTSTORE_GATEWAY_PASSWORD": "hunter2", "MINTSTORE_GATEWAY_IDLE": "2.5"}
    loaded = load(sections, config_file=None, environ=environ, flags=args)
    gateway = loaded.get(GatewayOptions)
    assert gateway == GatewayOptions(
        port=104, password="hunter2", peers=("A=h:1",), idle=timedelta(seconds=2.5)
    )
    shown = render(loaded)
    assert "hunter2" not in shown and 'password = "***"' in shown
    assert "port = 104  # flag --gateway-port" in shown


def test_bad_files_and_values_are_configuration_errors(tmp_path: Path) -> None:
    config = tmp_path / "mint.toml"
    config.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigurationError, match=r"unknown setting 'server\.prot'"):
        load_configuration(_serve("--config", str(config)), {})  # type: ignore[arg-type]
    config.write_text('[server]\nport = "many"\n')
    with pytest.raises(ConfigurationError, match="integer"):
        load_configuration(_serve("--config", str(config)), {})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="true or false"):
        load_configuration(_serve(), {"MINTSTORE_ACCESS_LOG": "perhaps"})  # type: ignore[arg-type]


def test_config_show_prints_the_effective_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(
        ["config", "show", "--workers", "4", "--store", "s3://user:pw@bucket/p"],
        environ={"MINTSTORE_THREADS": "16"},
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "workers = 4  # flag --workers" in out and "threads = 16  # env MINTSTORE_THREADS" in out
    assert "pw@" not in out and 'store = "s3://***@bucket/p"' in out
    import tomllib

    parsed = tomllib.loads(out)
    assert parsed["server"]["workers"] == 4 and parsed["store"]["create_settle"]["factor"] == 4.0


def test_the_operations_guide_lists_every_option() -> None:
    from mintstore.commands.config_reference import BEGIN, END, markdown
    from mintstore.commands.serve_options import SECTIONS

    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    table = guide.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown(SECTIONS).strip(), (
        "docs/operations.md's reference is stale: "
        "python -m mintstore.commands.config_reference docs/operations.md"
    )


def test_maintenance_reads_the_store_and_its_tunables_from_the_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    config = tmp_path / "mint.toml"
    config.write_text(f'[http]\nstore = "{store.as_uri()}"\n[store]\ngc_grace = 0\n')
    store.mkdir()
    assert main(["reindex", "--config", str(config)], environ={}) == 0
    assert main(["verify"], environ={"MINTSTORE_CONFIG": str(config)}) == 0
    assert main(["gc", "--config", str(config)], environ={}) == 0
    out = capsys.readouterr().out
    assert "reindexed" in out and "0 problems" in out and "deleted 0 blobs" in out
    assert (store / "mintstore.json").exists()


def test_the_retired_dicomweb_duplicates_is_refused_and_its_short_flag_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One duplicate policy for every write path: [store] duplicates.
    loaded = load_configuration(_serve("--duplicates", "replace"), {})  # type: ignore[arg-type]
    assert loaded.get(StoreConfig).duplicates == "replace"
    assert loaded.origins["store.duplicates"] == "flag --store-duplicates"
    config = tmp_path / "mint.toml"
    config.write_text('[dicomweb]\nduplicates = "replace"\n')
    with pytest.raises(ConfigurationError, match=r"dicomweb\.duplicates was retired.*\[store\]"):
        load_configuration(_serve("--config", str(config)), {})  # type: ignore[arg-type]
    environ = {"MINTSTORE_DICOMWEB_DUPLICATES": "replace"}
    with pytest.raises(ConfigurationError, match=r"MINTSTORE_DICOMWEB_DUPLICATES: .*retired"):
        load_configuration(_serve(), environ)  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        _serve("--dicomweb-duplicates", "replace")
    assert "dicomweb.duplicates was retired" in capsys.readouterr().err
