"""Find dcmtk's command-line tools, never pynetdicom's look-alikes.

pynetdicom installs console scripts with dcmtk's names (``storescu``,
``findscu``, ``movescu``, ``getscu``, ``echoscu``, ``storescp``) into the
virtual environment's ``bin``, which ``scripts/test`` puts first on PATH. The
interoperability tests must run the third-party tools, so a tool is looked up
on PATH and a candidate that is a script (starts with ``#!``) is skipped:
dcmtk's tools are native executables.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


@cache
def dcmtk_tool(name: str) -> str:
    """The absolute path of dcmtk's ``name``; FileNotFoundError if absent."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = Path(directory or ".") / name
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        with candidate.open("rb") as handle:
            if handle.read(2) == b"#!":
                continue  # a Python console script of the same name
        return str(candidate)
    raise FileNotFoundError(f"dcmtk's {name} is not installed: run scripts/setup/60-dicom-peers.sh")
