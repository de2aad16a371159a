"""dicomweb-client's whole API against a real mintstore process, file store and S3.

Everything read back is compared element by element with the files sent.
"""

from __future__ import annotations

import copy
import io
import zipfile
from typing import Any

import pydicom
import pytest
import requests
from pydicom.encaps import generate_frames

from .conftest import Deployment
from .corpus import MULTI, same_elements

#: Attributes the metadata adds (the stored syntax), not in the source dataset.
ADDED = {0x00083002}


def test_store_instances_referenced_every_instance(deployment: Deployment) -> None:
    response = deployment.stow_response
    referenced = {item.ReferencedSOPInstanceUID for item in response.ReferencedSOPSequence}
    assert referenced == {p.sop for p in deployment.corpus.values()}
    assert "FailedSOPSequence" not in response
    by_sop = {p.sop: p for p in deployment.corpus.values()}
    for item in response.ReferencedSOPSequence:
        # dicomweb-client sends "Host" without the port on POST, so only the path is certain
        p = by_sop[item.ReferencedSOPInstanceUID]
        path = f"/dicom-web/studies/{p.study}/series/{p.series}/instances/{p.sop}"
        assert item.RetrieveURL.endswith(path)


def test_search_for_studies_with_filters(deployment: Deployment) -> None:
    client, corpus = deployment.client, deployment.corpus
    everything = client.search_for_studies()
    studies = {p.study for p in corpus.values()}
    assert {r["0020000D"]["Value"][0] for r in everything} == studies
    multi = client.search_for_studies(search_filters={"PatientID": "PID-MULTI"})
    assert len(multi) == 1
    found = pydicom.Dataset.from_json(multi[0])
    assert found.StudyInstanceUID == corpus["ct1"].study
    assert found.NumberOfStudyRelatedSeries == 2
    assert found.NumberOfStudyRelatedInstances == 4
    assert set(found.ModalitiesInStudy) == {"CT", "MR"}
    assert found.RetrieveURL.endswith(f"/dicom-web/studies/{corpus['ct1'].study}")
    assert str(found.PatientName) == "Multi^Study"
    # wildcards (dicomweb-client percent-encodes * and ^), case-insensitive names
    by_name = client.search_for_studies(search_filters={"PatientName": "test^j*"})
    names = sorted(str(pydicom.Dataset.from_json(r).PatientName) for r in by_name)
    assert names == ["Test^J2k", "Test^Jpeg", "Test^Jpegls"]
    assert len(client.search_for_studies(search_filters={"PatientID": "PID-J?EG"})) == 1
    # date ranges
    in_range = client.search_for_studies(search_filters={"StudyDate": "20210101-20210631"})
    expected = {p.study for p in corpus.values() if "20210101" <= p.dataset.StudyDate <= "20210631"}
    assert {r["0020000D"]["Value"][0] for r in in_range} == expected and expected
    after = client.search_for_studies(search_filters={"StudyDate": "20210700-"})
    assert all(r["00080020"]["Value"][0] >= "20210700" for r in after) and after
    # modalities, UID lists
    assert len(client.search_for_studies(search_filters={"ModalitiesInStudy": "MR"})) >= 1
    two = [corpus["rgb"].study, corpus["rle"].study]
    listed = client.search_for_studies(search_filters={"StudyInstanceUID": ",".join(two)})
    assert {r["0020000D"]["Value"][0] for r in listed} == set(two)
    # no match
    assert client.search_for_studies(search_filters={"PatientID": "nobody"}) == []


def test_search_for_studies_limit_offset_and_includefield(deployment: Deployment) -> None:
    client = deployment.client
    everything = [r["0020000D"]["Value"][0] for r in client.search_for_studies()]
    first = client.search_for_studies(limit=3)
    rest = client.search_for_studies(offset=3)
    assert [r["0020000D"]["Value"][0] for r in first + rest] == everything
    assert len(first) == 3
    plain = client.search_for_studies(search_filters={"PatientID": "PID-MULTI"})[0]
    assert "00101010" not in plain  # PatientAge is not a default key
    wider = client.search_for_studies(
        search_filters={"PatientID": "PID-MULTI"}, fields=["PatientAge", "00081030"]
    )[0]
    assert "00101010" in wider
    everything_of_it = client.search_for_studies(
        search_filters={"PatientID": "PID-MULTI"}, fields=["all"]
    )[0]
    assert "00100030" in everything_of_it  # PatientBirthDate from the study level


def test_search_for_series_and_instances(deployment: Deployment) -> None:
    client, corpus = deployment.client, deployment.corpus
    study = corpus["ct1"].study
    series = client.search_for_series(study)
    assert {r["0020000E"]["Value"][0] for r in series} == {
        corpus["ct1"].series,
        corpus["mr"].series,
    }
    ct = client.search_for_series(study, search_filters={"Modality": "CT"})
    assert len(ct) == 1
    assert pydicom.Dataset.from_json(ct[0]).NumberOfSeriesRelatedInstances == 3
    across = client.search_for_series(search_filters={"Modality": "MR"})
    assert corpus["mr"].series in {r["0020000E"]["Value"][0] for r in across}
    assert all(r["00080060"]["Value"][0] == "MR" for r in across)
    instances = client.search_for_instances(study, corpus["ct1"].series)
    assert {r["00080018"]["Value"][0] for r in instances} == {corpus[n].sop for n in MULTI[:3]}
    second = client.search_for_instances(
        study, corpus["ct1"].series, search_filters={"InstanceNumber": "2"}
    )
    assert [r["00080018"]["Value"][0] for r in second] == [corpus["ct2"].sop]
    in_study = client.search_for_instances(study, limit=2, offset=1)
    assert len(in_study) == 2
    everywhere = client.search_for_instances(
        search_filters={"SOPInstanceUID": corpus["j2k"].sop}, fields=["Rows"]
    )
    assert len(everywhere) == 1
    found = pydicom.Dataset.from_json(everywhere[0])
    assert found.Rows == corpus["j2k"].dataset.Rows
    assert found.StudyInstanceUID == corpus["j2k"].study


def test_retrieve_study_series_instance_equal_the_sources(deployment: Deployment) -> None:
    client, corpus = deployment.client, deployment.corpus
    by_sop = {p.sop: p for p in corpus.values()}
    study = client.retrieve_study(corpus["ct1"].study)
    assert {ds.SOPInstanceUID for ds in study} == {corpus[n].sop for n in MULTI}
    for ds in study:
        source = by_sop[ds.SOPInstanceUID].dataset
        assert same_elements(source, ds) == []
        assert ds.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
    series = client.retrieve_series(corpus["mr"].study, corpus["mr"].series)
    assert [ds.SOPInstanceUID for ds in series] == [corpus["mr"].sop]
    for name, prepared in corpus.items():
        ds = client.retrieve_instance(prepared.study, prepared.series, prepared.sop)
        assert same_elements(prepared.dataset, ds) == [], name
        assert ds.file_meta.TransferSyntaxUID == prepared.dataset.file_meta.TransferSyntaxUID


def test_retrieve_instance_transcoded(deployment: Deployment) -> None:
    client, prepared = deployment.client, deployment.corpus["ct1"]
    implicit = client.retrieve_instance(
        prepared.study,
        prepared.series,
        prepared.sop,
        media_types=(("application/dicom", "1.2.840.10008.1.2.1"),),
    )
    assert same_elements(prepared.dataset, implicit) == []
    j2k = deployment.corpus["j2k"]
    decoded = client.retrieve_instance(
        j2k.study, j2k.series, j2k.sop, media_types=(("application/dicom", "1.2.840.10008.1.2.1"),)
    )
    assert decoded.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert (decoded.pixel_array == j2k.dataset.pixel_array).all()


def _compare_metadata(deployment: Deployment, metadata: dict[str, Any], name: str) -> None:
    prepared = deployment.corpus[name]
    uris: dict[int, str] = {}

    def bulk(tag: str, vr: str, uri: str) -> bytes:
        uris[int(tag, 16)] = uri
        return b""

    rebuilt = pydicom.Dataset.from_json(metadata, bulk_data_uri_handler=bulk)
    for tag in ADDED:
        if tag in rebuilt:
            del rebuilt[tag]
    expected = copy.deepcopy(prepared.dataset)
    for tag, uri in uris.items():
        if tag not in expected:
            continue  # a bulk value inside a sequence item: its parent compares it
        value = b"".join(deployment.client.retrieve_bulkdata(uri))
        original = expected[tag].value
        if tag == 0x7FE00010 and expected.file_meta.TransferSyntaxUID.is_compressed:
            count = int(expected.get("NumberOfFrames", 1))
            assert value == b"".join(generate_frames(original, number_of_frames=count)), name
        else:
            assert value == original, (name, hex(tag))
        del expected[tag], rebuilt[tag]
    assert same_elements(expected, rebuilt) == [], name


def test_metadata_at_every_level_equals_the_sources(deployment: Deployment) -> None:
    client, corpus = deployment.client, deployment.corpus
    study = client.retrieve_study_metadata(corpus["ct1"].study)
    assert len(study) == 4
    by_sop = {p.sop: n for n, p in corpus.items()}
    for metadata in study:
        _compare_metadata(deployment, metadata, by_sop[metadata["00080018"]["Value"][0]])
    series = client.retrieve_series_metadata(corpus["ct1"].study, corpus["ct1"].series)
    assert len(series) == 3
    for name, prepared in corpus.items():
        instance = client.retrieve_instance_metadata(prepared.study, prepared.series, prepared.sop)
        _compare_metadata(deployment, instance, name)


@pytest.mark.parametrize(
    "name", ["ct1", "multiframe", "rgb", "bigendian", "jpeg", "jpegls", "j2k", "rle"]
)
def test_frames_native_and_compressed(deployment: Deployment, name: str) -> None:
    client, prepared = deployment.client, deployment.corpus[name]
    ds = prepared.dataset
    count = int(ds.get("NumberOfFrames", 1))
    numbers = list(range(1, count + 1))
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax.is_compressed:
        media = {
            "1.2.840.10008.1.2.4.50": "image/jpeg",
            "1.2.840.10008.1.2.4.80": "image/jls",
            "1.2.840.10008.1.2.4.90": "image/jp2",
            "1.2.840.10008.1.2.5": "image/dicom-rle",
        }[syntax]
        frames = client.retrieve_instance_frames(
            prepared.study, prepared.series, prepared.sop, numbers, media_types=((media, syntax),)
        )
        assert frames == list(generate_frames(ds.PixelData, number_of_frames=count))
        # decoded on request: native little endian pixels
        decoded = client.retrieve_instance_frames(
            prepared.study,
            prepared.series,
            prepared.sop,
            [1],
            media_types=(("application/octet-stream", "1.2.840.10008.1.2.1"),),
        )
        first = ds.pixel_array if count == 1 else ds.pixel_array[0]
        if ds.SamplesPerPixel == 1:
            assert decoded[0] == first.astype(first.dtype.newbyteorder("<")).tobytes()
        else:
            assert len(decoded[0]) == first.size * first.itemsize
    elif syntax == "1.2.840.10008.1.2.2":
        # big endian frames come as little endian unless asked for as stored
        frames = client.retrieve_instance_frames(
            prepared.study, prepared.series, prepared.sop, numbers
        )
        pixels = ds.pixel_array
        assert frames == [pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()]
        stored = client.retrieve_instance_frames(
            prepared.study,
            prepared.series,
            prepared.sop,
            numbers,
            media_types=(("application/octet-stream", "*"),),
        )
        assert stored == [ds.PixelData]
    else:
        frames = client.retrieve_instance_frames(
            prepared.study, prepared.series, prepared.sop, numbers
        )
        size = len(ds.PixelData) // count
        assert frames == [ds.PixelData[i * size : (i + 1) * size] for i in range(count)]


def test_rendered_through_the_client(deployment: Deployment) -> None:
    client, prepared = deployment.client, deployment.corpus["mr"]
    jpeg = client.retrieve_instance_rendered(prepared.study, prepared.series, prepared.sop)
    assert jpeg[:2] == b"\xff\xd8"
    png = client.retrieve_instance_rendered(
        prepared.study, prepared.series, prepared.sop, media_types=("image/png",)
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    series = client.retrieve_series_rendered(prepared.study, prepared.series)
    assert series[:2] == b"\xff\xd8"


def test_cors_preflight_and_headers(deployment: Deployment) -> None:
    url = deployment.root + "/studies"
    origin = {"Origin": "http://viewer.example"}
    preflight = requests.options(
        url, headers={**origin, "Access-Control-Request-Method": "GET"}, timeout=10
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://viewer.example"
    answer = requests.get(url, headers=origin, timeout=10)
    assert answer.headers["Access-Control-Allow-Origin"] == "http://viewer.example"
    other = requests.get(url, headers={"Origin": "http://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_openapi_lists_the_dicomweb_routes(deployment: Deployment) -> None:
    document = requests.get(deployment.server.url + "/openapi.json", timeout=10).json()
    assert (
        "/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/{frames}"
        in document["paths"]
    )
    assert "post" in document["paths"]["/dicom-web/studies"]


def test_retrieve_series_as_zip(deployment: Deployment) -> None:
    ct = deployment.corpus["ct1"]
    url = f"{deployment.root}/studies/{ct.study}/series/{ct.series}"
    answer = requests.get(url, headers={"Accept": "application/zip"}, timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(f"{ct.series}/{deployment.corpus[n].sop}.dcm" for n in MULTI[:3])
        by_sop = {p.sop: p for p in deployment.corpus.values()}
        for name in names:
            ds = pydicom.dcmread(io.BytesIO(archive.read(name)))
            assert same_elements(by_sop[ds.SOPInstanceUID].dataset, ds) == []
