"""Reading bounds, in-process: Part-10 (inflate, element count, truncation) and documents."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import pytest
from pydicom import dcmread

from mintstore import formats
from mintstore.convert import read_part10
from mintstore.convert.structure import Part10Limits
from mintstore.errors import InvalidDicom, InvalidMetadata
from mintstore.formats import mint_pb2 as pb
from mintstore.synthetic import write_ct_series
from mintstore.testing.hostile import (
    deflate_bomb,
    element_bomb,
    gpb_many_attributes,
    json_many_attributes,
    json_many_values,
    xml_many_attributes,
)
from mintstore.web import ServerConfig, create_app


def test_deflate_bomb_is_refused_by_the_ratio_without_inflating_it() -> None:
    started = time.process_time()
    with pytest.raises(InvalidDicom, match="inflates beyond"):
        read_part10(deflate_bomb(64))
    assert time.process_time() - started < 0.5


def test_elements_are_counted_before_pydicom_parses() -> None:
    started = time.process_time()
    with pytest.raises(InvalidDicom, match="more than 250000 elements"):
        read_part10(element_bomb(16))
    assert time.process_time() - started < 1.0


def test_part10_limits_are_configurable() -> None:
    with pytest.raises(InvalidDicom, match="more than 10 elements"):
        read_part10(deflate_bomb(1), Part10Limits(max_elements=10))


@pytest.fixture(scope="module")
def slice_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    series = write_ct_series(tmp_path_factory.mktemp("ct"), 1, rows=4, columns=4, seed=4)
    return Path(series.paths[0]).read_bytes()


def _element_ends(data: bytes) -> list[int]:
    """Where each top-level element of an explicit-LE file ends (meta group included)."""
    position = 132
    found = []
    while position < len(data):
        vr = data[position + 4 : position + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"):
            (length,) = struct.unpack_from("<I", data, position + 8)
            position += 12 + length
        else:
            (length,) = struct.unpack_from("<H", data, position + 6)
            position += 8 + length
        found.append(position)
    return found


def test_a_cut_inside_the_last_element_is_refused(slice_bytes: bytes) -> None:
    """The pixel data declares more than the file delivers: refused (pydicom reads it)."""
    for cut in (1, 2, 7, 31):  # the 4x4 slice's pixel data is the last 32 bytes
        truncated = slice_bytes[:-cut]
        dcmread(io.BytesIO(truncated))  # pydicom alone does not object
        with pytest.raises(InvalidDicom, match="cut short"):
            read_part10(truncated)


def test_a_cut_on_an_element_boundary_is_stored_as_sent(slice_bytes: bytes) -> None:
    """Documented decision (docs/security.md): a complete data set, stored and read back."""
    ends = _element_ends(slice_bytes)
    cut = ends[-2]  # everything but the pixel data
    truncated = slice_bytes[:cut]
    client = create_app(ServerConfig(store_url="memory://cut-on-boundary")).test_client()
    response = client.post("/studies/create", data=truncated, content_type="application/dicom")
    assert response.status_code == 201, response.data
    ds = dcmread(io.BytesIO(truncated))
    path = f"/studies/{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}"
    back = client.get(path)
    assert back.status_code == 200
    assert "PixelData" not in dcmread(io.BytesIO(back.data))


def test_gpb_string_fields_that_are_not_utf8_are_refused() -> None:
    valid = pb.StudyData(study_instance_uid="1.2.3").SerializeToString()
    for field in (b"\x2a", b"\x22"):  # version (5), type (4)
        with pytest.raises(InvalidMetadata):
            formats.decode(valid + field + b"\x02\xff\xfe", "gpb")


@pytest.mark.parametrize(
    "build",
    [
        lambda: (gpb_many_attributes(1_000_000), "gpb"),
        lambda: (gpb_many_attributes(1_000_000, spread=True), "gpb"),
        lambda: (json_many_attributes(1_000_000), "json"),
        lambda: (xml_many_attributes(1_000_000), "xml"),
        lambda: (json_many_values(2_000_001), "json"),
    ],
    ids=["gpb one set", "gpb spread", "json", "xml", "json values"],
)
def test_documents_over_the_node_budget_are_refused_fast(build: object) -> None:
    data, fmt = build()  # type: ignore[operator]
    started = time.process_time()
    with pytest.raises(InvalidMetadata, match=r"more than|in one set|at most"):
        formats.decode(data, fmt, limits=formats.DocumentLimits())
    assert time.process_time() - started < 1.0  # 0.005-0.15 s unloaded
    formats.decode(  # the same document is fine for the store's own reads when small enough
        formats.encode(formats.decode(_tiny(fmt), fmt), fmt), fmt
    )


def _tiny(fmt: str) -> bytes:
    if fmt == "gpb":
        return gpb_many_attributes(10)
    if fmt == "json":
        return json_many_attributes(10)
    return xml_many_attributes(10)


@pytest.mark.parametrize("per_element", [1_000_000, 500])
def test_xml_attribute_piles_are_refused_before_parsing(per_element: int) -> None:
    """libxml2 keeps ~270 bytes per XML attribute: a 10 MiB tag of them cost 270 MiB."""
    elements = max(1, 2_100_000 // per_element)
    pile = " ".join(f'x{index}=""' for index in range(per_element))
    attrs = "".join(f'<attr tag="{0x00100000 + i:08x}" vr="LO" {pile}/>' for i in range(elements))
    document = (
        '<?xml version="1.0"?><study xmlns="http://medical.nema.org/mint" '
        f'studyInstanceUID="1.2"><attributes>{attrs}</attributes><seriesList/></study>'
    ).encode()
    started = time.process_time()
    with pytest.raises(InvalidMetadata, match=r"XML attributes|attributes \(at most"):
        formats.decode(document, "xml", limits=formats.DocumentLimits())
    assert time.process_time() - started < 1.0
