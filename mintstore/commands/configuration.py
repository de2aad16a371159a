"""``mintstore config show``: the effective configuration of ``mintstore serve``.

Reads the same three sources as ``serve`` (the TOML file, ``MINTSTORE_*``
variables, the flags) and prints the result as TOML, each value followed by
where it came from; secrets are printed as ``***`` and credentials in URLs
are cut out.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from mintstore.configuration import render

from .serve import add_config_flags, load_configuration


def register(subparsers: Any) -> None:
    """Add ``config show``."""
    config = subparsers.add_parser(
        "config",
        help="show the effective server configuration",
        description=__doc__.replace("``", ""),
    )
    actions = config.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print the effective configuration as TOML (secrets redacted)",
        description="Print what `mintstore serve` with the same file, environment and "
        "flags would use, each value with its origin.",
    )
    add_config_flags(show)
    show.set_defaults(handler=run_show)


def run_show(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Print the configuration; a bad value is reported like ``serve`` would."""
    loaded = load_configuration(args, environ)
    print(render(loaded), end="")
    return 0
