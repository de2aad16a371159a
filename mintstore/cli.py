"""The ``mintstore`` command line.

Only commands that work are registered here; each subcommand lives in its own
function so that the parser reads as the list of what the tool can do.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mintstore import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, separate from ``main`` so tests can inspect it."""
    parser = argparse.ArgumentParser(
        prog="mintstore",
        description="A web-based DICOM store in the MINT tradition, on object storage.",
    )
    parser.add_argument("--version", action="version", version=f"mintstore {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
