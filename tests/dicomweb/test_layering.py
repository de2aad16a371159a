"""The arrows of the DICOMweb code: render is pure; dicomweb uses only the store's public API."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mintstore"


def _imports(directory: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(directory.glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[path.name] = names
    return found


def test_render_imports_neither_store_nor_web() -> None:
    for name, modules in _imports(PACKAGE / "render").items():
        bad = {
            m
            for m in modules
            if m.startswith(
                ("mintstore.store", "mintstore.web", "mintstore.web.dicomweb", "mintstore.adapters")
            )
        }
        assert not bad, (name, bad)


def test_dicomweb_reads_the_store_only_through_its_public_package() -> None:
    for name, modules in _imports(PACKAGE / "dicomweb").items():
        private = {m for m in modules if m.startswith("mintstore.store.")}
        assert not private, (name, private)
    # the modules that name store types at all (reads go through reads.py's Snapshot)
    users = [
        name
        for name, modules in _imports(PACKAGE / "dicomweb").items()
        if any(m == "mintstore.store" for m in modules)
    ]
    assert set(users) <= {"reads.py", "service.py", "stow.py", "replace.py", "qido.py"}, users
