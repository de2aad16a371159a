"""The store URL each module outputs is one the server's URL parser accepts.

The output is what the examples hand to ``mintstore serve --store``, so it is
evaluated with sample inputs and fed to the real ``parse_store_url``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mintstore.adapters.registry import parse_store_url

from .terraform_hcl import TERRAFORM_ROOT, load_dir, make_resolver, named_blocks

MODULES = TERRAFORM_ROOT / "modules"

CASES: list[tuple[str, dict[str, Any], str, str, str, dict[str, str]]] = [
    (
        "aws-s3-store",
        {
            "aws_s3_bucket.this.id": "dicom-archive",
            "aws_s3_bucket.this.region": "eu-central-1",
            "var.prefix": "hospital/mint",
        },
        "s3",
        "dicom-archive",
        "hospital/mint",
        {"region": "eu-central-1"},
    ),
    (
        "azure-blob-store",
        {"azurerm_storage_container.this.name": "mintstore", "var.prefix": "mint"},
        "azure",
        "mintstore",
        "mint",
        {},
    ),
    (
        "openstack-swift-store",
        {"openstack_objectstorage_container_v1.store.name": "archive", "var.prefix": "mint"},
        "swift",
        "archive",
        "mint",
        {},
    ),
]


def _evaluate_store_url(module: Path, known: dict[str, Any]) -> str:
    expression = named_blocks(load_dir(module), "output")["store_url"]["value"]
    # Azure and Swift wrap the template in trimsuffix(..., "/") so that an empty prefix
    # gives scheme://container; evaluate the template and apply the trim here.
    if expression.startswith("${trimsuffix("):
        inner = expression[len("${trimsuffix(") : -len(', "/")}')]
        template = inner.strip('"')
        return str(make_resolver(load_dir(module), known)(template)).removesuffix("/")
    return str(make_resolver(load_dir(module), known)(expression))


@pytest.mark.parametrize(
    ("module", "known", "scheme", "container", "prefix", "options"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_store_url_output_parses(
    module: str,
    known: dict[str, Any],
    scheme: str,
    container: str,
    prefix: str,
    options: dict[str, str],
) -> None:
    url = _evaluate_store_url(MODULES / module, known)
    location = parse_store_url(url)
    assert (location.scheme, location.container, location.prefix) == (scheme, container, prefix)
    assert dict(location.options) == options
