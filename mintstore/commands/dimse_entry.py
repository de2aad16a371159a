"""``python -m mintstore.commands.dimse_entry [options]``: exactly ``mintstore dimse
[options]``, but without building the parsers of every other command (which import the web app,
the client and Dask: two seconds per start on a loaded machine, paid by every
restart of the gateway and 20 times by the crash test)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mintstore.errors import MintError

from . import dimse as command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mintstore.commands.dimse_entry")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dimse", *(sys.argv[1:] if argv is None else argv)])
    try:
        status: int = args.handler(args, dict(os.environ))
    except MintError as error:
        print(f"mintstore dimse: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
