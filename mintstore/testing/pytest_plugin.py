"""pytest fixtures giving every test a fresh store on every backend.

Registered by ``tests/conftest.py`` (``pytest_plugins = [...]``). A test that
takes ``object_store`` runs once per backend (memory, file, moto,
moto-server, azurite, swift); servers start on first use and stop at the end
of the session. If a server cannot start, the test errors with the reason:
backends are never skipped.

Fixtures:

``object_store``
    A fresh, empty ``ObjectStore`` (closed after the test).
``object_store_spec``
    The URL and environment of that store, for code that opens stores itself
    (e.g. an app configured by URL). Same store as ``object_store``.
``make_object_store``
    ``make_object_store(**options) -> StoreSpec``: more fresh stores on the
    same backend (e.g. a copy target), with optional URL options.
``store_backend``
    The ``Backend`` under test (its ``name`` says which one).
``backend_pool``
    Session-wide ``BackendPool``, to use several backends in one test.

Choose backends with ``--backend NAME`` (repeatable or comma-separated), or
with ``-m`` on the markers ``backend_memory``, ``backend_file``, ... .
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mintstore.adapters import ObjectStore

from .backends import BACKEND_NAMES, Backend, BackendPool, StoreSpec

MakeObjectStore = Callable[..., StoreSpec]


def _marker(name: str) -> str:
    return "backend_" + name.replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mintstore")
    group.addoption(
        "--backend",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run store tests only on these backends (of {', '.join(BACKEND_NAMES)})",
    )
    group.addoption(
        "--tools-dir",
        default=None,
        metavar="DIR",
        help="where scripts/setup installed the emulators (default: <rootdir>/.tools)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for name in BACKEND_NAMES:
        config.addinivalue_line("markers", f"{_marker(name)}: test runs on the {name} backend")


def _selected_backends(config: pytest.Config) -> list[str]:
    chosen = [name for value in config.getoption("backend") for name in value.split(",") if name]
    unknown = sorted(set(chosen) - set(BACKEND_NAMES))
    if unknown:
        raise pytest.UsageError(
            f"unknown --backend {', '.join(unknown)}; choose from {', '.join(BACKEND_NAMES)}"
        )
    return chosen or list(BACKEND_NAMES)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_backend_name" in metafunc.fixturenames:
        names = _selected_backends(metafunc.config)
        metafunc.parametrize(
            "store_backend_name",
            [
                pytest.param(name, id=name, marks=getattr(pytest.mark, _marker(name)))
                for name in names
            ],
            scope="session",
        )


@pytest.fixture(scope="session")
def backend_pool(request: pytest.FixtureRequest) -> Iterator[BackendPool]:
    tools_option = request.config.getoption("tools_dir")
    tools = Path(tools_option) if tools_option else request.config.rootpath / ".tools"
    with BackendPool(tools) as pool:
        yield pool


@pytest.fixture
def store_backend(backend_pool: BackendPool, store_backend_name: str) -> Iterator[Backend]:
    backend = backend_pool.get(store_backend_name)
    with backend.activate():
        yield backend


@pytest.fixture
def make_object_store(store_backend: Backend) -> MakeObjectStore:
    def make(**options: str) -> StoreSpec:
        return store_backend.fresh(options)

    return make


@pytest.fixture
def object_store_spec(make_object_store: MakeObjectStore) -> StoreSpec:
    return make_object_store()


@pytest.fixture
def object_store(object_store_spec: StoreSpec) -> Iterator[ObjectStore]:
    with object_store_spec.open() as store:
        yield store
