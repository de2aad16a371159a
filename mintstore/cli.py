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
    from mintstore.commands import bulk, configuration, dimse, maintenance, serve, transfer

    parser = argparse.ArgumentParser(
        prog="mintstore",
        description="A web-based DICOM store in the MINT tradition, on object storage.",
    )
    parser.add_argument("--version", action="version", version=f"mintstore {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.register(subparsers)
    transfer.register(subparsers)
    maintenance.register(subparsers)
    configuration.register(subparsers)
    bulk.register(subparsers)
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
    except OSError as error:
        # Files, folders and sockets the user named: say which, no traceback.
        print(f"mintstore {args.command}: {describe_os_error(error, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mintstore {args.command}: interrupted", file=sys.stderr)
        return 130
    return status


def describe_os_error(error: OSError, args: argparse.Namespace) -> str:
    """An OSError as a sentence that names what failed (a server URL, a path)."""
    url = getattr(args, "url", None)
    reason = error.strerror or str(error) or type(error).__name__
    if isinstance(error, (ConnectionError, TimeoutError)) or error.filename is None:
        target = f"cannot reach {url}" if url else "network error"
        return f"{target}: {reason}"
    return f"{error.filename}: {reason}"


if __name__ == "__main__":
    raise SystemExit(main())
