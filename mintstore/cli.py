"""The ``mintstore`` command line.

Only commands that work are registered here; each group lives in its own
module under :mod:`mintstore.commands`. The environment is read once, here,
and handed to the command: nothing below reads ``os.environ``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from mintstore import __version__
from mintstore.errors import MintError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, separate from ``main`` so tests can inspect it."""
    from mintstore.commands import dimse, maintenance, serve, transfer

    parser = argparse.ArgumentParser(
        prog="mintstore",
        description="A web-based DICOM store in the MINT tradition, on object storage.",
    )
    parser.add_argument("--version", action="version", version=f"mintstore {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.register(subparsers)
    transfer.register(subparsers)
    maintenance.register(subparsers)
    dimse.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        status: int = handler(args, dict(os.environ) if environ is None else environ)
    except MintError as error:
        print(f"mintstore {args.command}: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
