"""Every module and example keeps the agreed layout and documents its interface.

``terraform validate`` cannot run here (no provider downloads), so the
structural rules are checked on the parsed files: typed and validated
variables, described outputs, pinned providers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .terraform_hcl import (
    CONFIG_DIRS,
    EXAMPLE_DIRS,
    MODULE_DIRS,
    TERRAFORM_ROOT,
    TF_FILES,
    load_dir,
    load_tf,
    named_blocks,
    typed_blocks,
)

REQUIRED_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(TERRAFORM_ROOT)) for p in paths]


def test_expected_modules_and_examples_exist() -> None:
    assert [p.name for p in MODULE_DIRS] == [
        "aws-s3-store",
        "azure-blob-store",
        "openstack-swift-store",
    ]
    assert [p.name for p in EXAMPLE_DIRS] == ["aws", "azure", "openstack"]
    assert (TERRAFORM_ROOT / "README.md").is_file()


@pytest.mark.parametrize("directory", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_layout(directory: Path) -> None:
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    assert not missing, f"{directory} lacks {missing}"


@pytest.mark.parametrize("path", TF_FILES, ids=_ids(TF_FILES))
def test_every_tf_file_parses(path: Path) -> None:
    parsed = load_tf(path)
    assert parsed, f"{path} parsed to nothing"


@pytest.mark.parametrize("directory", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_variables_are_typed_described_and_validated(directory: Path) -> None:
    variables = named_blocks(load_dir(directory), "variable")
    assert variables, f"{directory} declares no variables"
    for name, body in variables.items():
        var_type = str(body.get("type", ""))
        assert var_type, f"variable {name} in {directory} has no type"
        assert not re.search(r"\bany\b", var_type), f"variable {name} uses type any"
        assert str(body.get("description", "")).strip(), f"variable {name} has no description"
        # Free-form switches and tag maps have nothing to validate; everything else must
        # reject bad input at plan time rather than in the cloud API.
        if var_type not in ("bool", "${map(string)}", "map(string)"):
            assert body.get("validation"), f"variable {name} in {directory} has no validation"


@pytest.mark.parametrize("directory", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_outputs_are_described(directory: Path) -> None:
    outputs = named_blocks(load_dir(directory), "output")
    assert outputs, f"{directory} declares no outputs"
    for name, body in outputs.items():
        assert str(body.get("description", "")).strip(), f"output {name} has no description"
    assert "store_url" in outputs, f"{directory} does not output the store URL"


@pytest.mark.parametrize("directory", CONFIG_DIRS, ids=_ids(CONFIG_DIRS))
def test_versions_pin_terraform_and_every_provider_used(directory: Path) -> None:
    versions = load_tf(directory / "versions.tf")
    (terraform_block,) = versions["terraform"]
    assert terraform_block.get("required_version", "").startswith(">="), "no required_version"
    declared: dict[str, dict[str, str]] = {}
    for block in terraform_block["required_providers"]:
        declared.update(block)
    for name, spec in declared.items():
        assert "/" in spec.get("source", ""), f"provider {name} has no source"
        constraint = spec.get("version", "")
        assert ">=" in constraint and "<" in constraint.replace("<=", "<"), (
            f"provider {name} must be pinned to a range with an upper bound, got {constraint!r}"
        )
    config = load_dir(directory)
    used = {kind.split("_", 1)[0] for kind, _ in typed_blocks(config, "resource")}
    used |= {kind.split("_", 1)[0] for kind, _ in typed_blocks(config, "data")}
    unpinned = used - set(declared)
    assert not unpinned, f"{directory} uses providers {unpinned} it does not pin"


@pytest.mark.parametrize("directory", EXAMPLE_DIRS, ids=_ids(EXAMPLE_DIRS))
def test_examples_use_the_local_module_and_show_the_serve_command(directory: Path) -> None:
    modules = named_blocks(load_dir(directory), "module")
    sources = [body["source"] for body in modules.values()]
    assert sources and all(s.startswith("../../modules/") for s in sources), sources
    readme = (directory / "README.md").read_text(encoding="utf-8")
    commands = ("terraform init", "terraform plan", "terraform apply", "mintstore serve --store")
    for command in commands:
        assert command in readme, f"{directory}/README.md does not show {command!r}"
