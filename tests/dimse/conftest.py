"""Fixtures for the DIMSE tests: a real gateway process on a file store, a dcmtk
storescp as its C-MOVE destination, and helpers to run dcmtk's tools."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from mintstore.adapters.registry import open_store
from mintstore.dimse.spool import SPOOL_PREFIX
from mintstore.store import StoreConfig, StudyStore
from mintstore.testing.dcmtk import dcmtk_tool
from mintstore.testing.dimse_server import DimseProcess, StoreSCP
from mintstore.testing.mint_server import free_port


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mint-data")


@pytest.fixture(scope="module")
def storescp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreSCP]:
    with StoreSCP(tmp_path_factory.mktemp("storescp")) as peer:
        yield peer


@pytest.fixture(scope="module")
def commit_port() -> int:
    """Where the storage commitment tests listen for a call-back (COMMITSCU)."""
    return free_port()


@pytest.fixture(scope="module")
def gateway(
    store_dir: Path,
    storescp: StoreSCP,
    commit_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DimseProcess]:
    """One ``mintstore dimse`` per module; STORESCP is a known destination,
    and so is the pynetdicom SCU of the commitment tests (COMMITSCU)."""
    log = tmp_path_factory.mktemp("logs") / "dimse.log"
    options = [
        "--destination", f"{storescp.ae_title}=127.0.0.1:{storescp.port}",
        "--destination", f"COMMITSCU=127.0.0.1:{commit_port}",
        "--batch-max-delay", "0.05",
    ]  # fmt: skip
    with DimseProcess(store_dir.as_uri(), options=options, log_path=log) as process:
        yield process


@pytest.fixture
def store(store_dir: Path) -> Iterator[StudyStore]:
    """The gateway's store, opened directly (to check what it holds), once the
    gateway has committed everything it spooled."""
    opened = StudyStore(open_store(store_dir.as_uri(), {}), StoreConfig())
    wait_committed(opened)
    yield opened
    opened.close()


def wait_committed(store: StudyStore, timeout: float = 30.0) -> None:
    """Wait until the gateway's spool is empty: every acknowledged instance is
    durable from the moment of its success status, and visible to a reader of
    the store once its batch commits (within batch_max_delay plus the commit)."""
    deadline = time.monotonic() + timeout
    while any(True for _ in store.objects.list(SPOOL_PREFIX)):
        if time.monotonic() > deadline:
            raise AssertionError("the gateway did not commit its spool in time")
        time.sleep(0.02)


def dcmtk(*command: str | Path | int, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a dcmtk tool; its output (stdout + stderr) is in ``.stdout``."""
    result = subprocess.run(
        [dcmtk_tool(str(command[0])), *(str(part) for part in command[1:])],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{command[0]} failed ({result.returncode}):\n{result.stdout}")
    return result


DATA_SET_TRAILING_PADDING = 0xFFFCFFFC


def without_meta(dataset: Dataset) -> Dataset:
    """The dataset as it travels: the file meta group is written by whoever
    stores it; dcmtk never transmits Data Set Trailing Padding (checked:
    storescu -> storescp drops it from CT_small.dcm too) and sends
    encapsulated Pixel Data as OB (PS3.5 A.4) even where a file says OW."""
    copy = Dataset(dataset)
    copy.file_meta = Dataset()  # type: ignore[assignment]
    if DATA_SET_TRAILING_PADDING in copy:
        del copy[DATA_SET_TRAILING_PADDING]
    meta = getattr(dataset, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is not None and syntax.is_encapsulated and "PixelData" in copy:
        copy["PixelData"].VR = "OB"
    return copy


def stored_dataset(store: StudyStore, original: Dataset) -> Dataset:
    """The instance as the store gives it back (Part-10, parsed)."""
    import io

    out = io.BytesIO()
    store.instance_part10(
        str(original.StudyInstanceUID),
        str(original.SeriesInstanceUID),
        str(original.SOPInstanceUID),
        out,
    )
    out.seek(0)
    return dcmread(out)
