"""One configuration model from three sources: a TOML file, ``MINTSTORE_*`` variables, flags.

Every component describes its options as a frozen dataclass with a default for
each field; :mod:`.options` derives the option list from the dataclass fields
(so a field added later appears in the file, the environment, ``--help`` and
``mintstore config show`` without further work) and :mod:`.sources` merges the
three sources, flags winning over the environment, the environment over the file.
"""

from __future__ import annotations

from .options import Option, Section, option, options_of
from .sources import Loaded, add_flags, load, render

__all__ = ["Loaded", "Option", "Section", "add_flags", "load", "option", "options_of", "render"]
