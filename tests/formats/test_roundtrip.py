"""Every format carries every model exactly: model -> document -> model is an
identity, document -> model -> document is an identity, and XML, GPB and JSON
all decode to the same model."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from mintstore import formats
from mintstore.errors import InvalidMetadata
from mintstore.model import Study

from .strategies import studies
from .studies import delta_study, rich_study

VARIANTS = [(fmt, gz) for fmt in formats.FORMATS for gz in (False, True)]


def assert_identities(study: Study) -> None:
    documents = {}
    for fmt, gz in VARIANTS:
        document = formats.encode(study, fmt, gzip=gz)
        decoded = formats.decode(document, fmt)
        assert decoded == study, (fmt, gz)
        assert formats.encode(decoded, fmt, gzip=gz) == document, (fmt, gz)
        documents[fmt, gz] = document
    # XML and GPB (and JSON) carry the same model: cross-decode agreement.
    models = {fmt: formats.decode(documents[fmt, False], fmt) for fmt in formats.FORMATS}
    assert models["xml"] == models["gpb"] == models["json"]


@pytest.mark.parametrize("build", [rich_study, delta_study], ids=["rich", "delta"])
def test_hand_built_studies_round_trip_in_every_variant(build: object) -> None:
    assert callable(build)
    assert_identities(build())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies)
def test_random_studies_round_trip_in_every_format(study: Study) -> None:
    assert_identities(study)


def test_encoding_is_deterministic() -> None:
    for fmt, gz in VARIANTS:
        assert formats.encode(rich_study(), fmt, gzip=gz) == formats.encode(
            rich_study(), fmt, gzip=gz
        )


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_summary_has_series_attributes_and_counts_but_no_instances(fmt: str) -> None:
    study = rich_study()
    summary = formats.decode(formats.encode_summary(study, fmt, gzip=True), fmt)
    assert summary.attributes == study.attributes
    assert set(summary.series) == set(study.series)
    for uid, series in summary.series.items():
        assert series.attributes == study.series[uid].attributes
        assert series.instances == {}
        assert series.normalized_attributes == {}
    document = formats.encode_summary(study, fmt)
    if fmt != "gpb":
        assert b"instanceCount" in document and b"3.1" not in document.split(b"seriesList")[1]


def test_summary_counts_instances_per_series_in_gpb() -> None:
    from mintstore.formats import mint_pb2

    message = mint_pb2.StudyData.FromString(formats.encode_summary(rich_study(), "gpb"))
    assert message.instance_count == 3
    assert [(s.series_instance_uid[-2:], s.instance_count) for s in message.series] == [
        ("10", 1),
        (".2", 2),
    ]
    assert all(len(s.instances) == 0 for s in message.series)


@pytest.mark.parametrize(("fmt", "gz"), VARIANTS)
def test_streamed_chunks_join_to_the_encoded_document(fmt: str, gz: bool) -> None:
    chunks = list(formats.iter_encode(rich_study(), fmt, gzip=gz))
    assert b"".join(chunks) == formats.encode(rich_study(), fmt, gzip=gz)
    summary = formats.iter_encode(rich_study(), fmt, gzip=gz, summary=True)
    assert b"".join(summary) == formats.encode_summary(rich_study(), fmt, gzip=gz)
    if fmt != "gpb" and not gz:  # gzip buffers a small document into one block
        assert len(chunks) > 3


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_streaming_refuses_a_bad_model_before_the_first_chunk(fmt: str) -> None:
    study = rich_study()
    study.attributes[0x00100010].bid = 5  # val and bid: two value forms
    with pytest.raises(InvalidMetadata):
        formats.iter_encode(study, fmt)
