"""Reading the project's Terraform files for the offline checks in this folder.

Providers cannot be downloaded here, so ``terraform validate`` cannot run; these
helpers give the tests a plain-Python view of the configuration instead, plus
the locations of the tool venvs that scripts/setup/40-terraform-tools.sh builds.
A missing tool FAILS the test: a skipped check would be a check CI never ran.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_ROOT = REPO / "terraform"
MODULE_DIRS = sorted(p for p in (TERRAFORM_ROOT / "modules").iterdir() if p.is_dir())
EXAMPLE_DIRS = sorted(p for p in (TERRAFORM_ROOT / "examples").iterdir() if p.is_dir())
CONFIG_DIRS = MODULE_DIRS + EXAMPLE_DIRS
TF_FILES = sorted(TERRAFORM_ROOT.rglob("*.tf"))
SETUP_SCRIPT = "scripts/setup/40-terraform-tools.sh"


def tool(relative: str) -> Path:
    """Path of an installed tool under .tools/, failing the test when it is missing."""
    path = REPO / ".tools" / relative
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash {SETUP_SCRIPT}` (the test command does)")
    return path


def _unquote(value: Any) -> Any:
    # python-hcl2 8.x keeps the quotes of string literals and block labels:
    # '"s3:ListBucket"'. Expressions come back as "${...}" without quotes.
    if isinstance(value, str):
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return value
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


def load_tf(path: Path) -> dict[str, Any]:
    """One .tf file as nested dicts/lists with string literals unquoted."""
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle)
    result: dict[str, Any] = _unquote(parsed)
    return result


def load_dir(directory: Path) -> dict[str, list[Any]]:
    """All top-level blocks of a configuration directory, merged per block type."""
    merged: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for block_type, blocks in load_tf(path).items():
            merged.setdefault(block_type, []).extend(blocks)
    return merged


def named_blocks(config: Mapping[str, list[Any]], block_type: str) -> dict[str, Any]:
    """``variable``/``output``/``module`` blocks keyed by their single label."""
    found: dict[str, Any] = {}
    for block in config.get(block_type, []):
        for name, body in block.items():
            found[name] = body
    return found


def typed_blocks(config: Mapping[str, list[Any]], block_type: str) -> dict[tuple[str, str], Any]:
    """``resource``/``data`` blocks keyed by (type, name)."""
    found: dict[tuple[str, str], Any] = {}
    for block in config.get(block_type, []):
        for kind, by_name in block.items():
            for name, body in by_name.items():
                found[(kind, name)] = body
    return found


def locals_of(config: Mapping[str, list[Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in config.get("locals", []):
        merged.update(block)
    return merged


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


def make_resolver(
    config: Mapping[str, list[Any]], known: Mapping[str, Any]
) -> Callable[[Any], Any]:
    """An evaluator for the simple interpolations used in policy documents.

    It substitutes ``${var.X}`` / ``${data...}`` from ``known`` and
    ``${local.X}`` recursively from the configuration, and fails on anything
    else, so that a refactoring the test cannot follow is noticed instead of
    being waved through.
    """
    local_values = locals_of(config)

    def lookup(name: str) -> Any:
        if name in known:
            return known[name]
        if name.startswith("local.") and name[len("local.") :] in local_values:
            return resolve(local_values[name[len("local.") :]])
        pytest.fail(f"cannot evaluate ${{{name}}} offline; extend the test's known values")

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                resolved = resolve(item)
                out.extend(resolved if isinstance(resolved, list) else [resolved])
            return out
        if not isinstance(value, str):
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return lookup(whole.group(1))
        text = _REFERENCE.sub(lambda m: str(lookup(m.group(1))), value)
        if "${" in text:
            pytest.fail(f"cannot evaluate {value!r} offline")
        return text

    return resolve
