"""The configuration reference as a Markdown table, for docs/operations.md.

Generated from the same option list the flags, variables and TOML keys come
from; a test compares it with the table in the guide, and
``python -m mintstore.commands.config_reference docs/operations.md`` rewrites
the table between its two marker comments.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mintstore.configuration.options import Section
from mintstore.configuration.sources import all_options

BEGIN = "<!-- configuration reference: begin (generated) -->"
END = "<!-- configuration reference: end -->"


def markdown(sections: Sequence[Section]) -> str:
    """One row per option: TOML key, flags, variable, default, meaning."""
    rows = [
        "| TOML key | flag | environment | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for opt in all_options(sections):
        empty = opt.default is None or opt.default == ()
        default = "unset" if empty else opt.show(opt.default).strip('"')
        flags = f"`{opt.flag}`" + (f", `{opt.alias}`" if opt.alias else "")
        meaning = opt.help.replace("|", "\\|")
        rows.append(f"| `{opt.key}` | {flags} | `{opt.env}` | `{default}` | {meaning} |")
    return "\n".join(rows) + "\n"


def rewrite(path: Path, sections: Sequence[Section]) -> None:
    """Replace the table between the markers of ``path``."""
    text = path.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{markdown(sections)}{END}{tail}")


if __name__ == "__main__":
    from .serve_options import SECTIONS

    rewrite(Path(sys.argv[1]), SECTIONS)
