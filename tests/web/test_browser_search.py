"""The browser view's search (in-process): name wildcards, other criteria, paging, bad input."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from mintstore.web import ServerConfig, create_app
from tests.part10_builder import part10_bytes, secondary_capture

HTML = {"Accept": "text/html"}


def _part10(name: str, patient_id: str, day: int, modality: str) -> bytes:
    ds = secondary_capture()
    ds.PatientName, ds.PatientID, ds.Modality = name, patient_id, modality
    ds.StudyDate, ds.AccessionNumber = f"202401{day:02d}", f"A{day}"
    return part10_bytes(ds)


@pytest.fixture(scope="module")
def app() -> Flask:
    application = create_app(ServerConfig(store_url="memory://browser-search"))
    client = application.test_client()
    for day in range(1, 29):
        name = f"Smith^Anna{day:02d}" if day % 2 else f"Jones^Bob{day:02d}"
        body = _part10(name, f"P{day:02d}", day, "CT" if day <= 10 else "MR")
        answer = client.post("/studies/create", data=body, content_type="application/dicom")
        assert answer.status_code == 201, answer.data[:300]
    return application


def _names(html: str) -> list[str]:
    return re.findall(r"<a href=\"[^\"]*/studies/[0-9.]+\">([^<]*)</a>", html)


def test_wildcards_contains_and_case(app: Flask) -> None:
    client = app.test_client()
    smiths = _names(client.get("/?patient=smi*", headers=HTML).get_data(as_text=True))
    assert len(smiths) == 14 and all(name.startswith("Smith, Anna") for name in smiths)
    assert len(_names(client.get("/?patient=BOB", headers=HTML).get_data(as_text=True))) == 14
    one = _names(client.get("/?patient=*anna0?", headers=HTML).get_data(as_text=True))
    assert sorted(one) == [f"Smith, Anna0{d}" for d in (1, 3, 5, 7, 9)]


def test_other_criteria_combine(app: Flask) -> None:
    client = app.test_client()
    page = client.get(
        "/?patient=jones&modality=ct&from=2024-01-03&to=2024-01-08", headers=HTML
    ).get_data(as_text=True)
    assert sorted(_names(page)) == ["Jones, Bob04", "Jones, Bob06", "Jones, Bob08"]
    by_id = client.get("/?patient_id=P07", headers=HTML).get_data(as_text=True)
    assert _names(by_id) == ["Smith, Anna07"]
    by_accession = client.get("/?accession=A12", headers=HTML).get_data(as_text=True)
    assert _names(by_accession) == ["Jones, Bob12"]


def test_paging_walks_every_match_once(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/", headers=HTML).get_data(as_text=True)
    assert len(_names(first)) == 25 and 'id="next"' in first and 'id="previous"' not in first
    second = client.get("/?page=2", headers=HTML).get_data(as_text=True)
    assert len(_names(second)) == 3 and 'id="next"' not in second
    assert not set(_names(first)) & set(_names(second))
    named = client.get("/?patient=*&page=2", headers=HTML).get_data(as_text=True)
    assert len(_names(named)) == 3


def test_bad_input_is_a_message_not_an_error(app: Flask) -> None:
    client = app.test_client()
    answer = client.get("/?from=2024-13-45&page=x%C2%B2", headers=HTML)
    assert answer.status_code == 200
    assert "not a date" in answer.get_data(as_text=True)
    assert "<script>" not in client.get("/?patient=<script>", headers=HTML).get_data(as_text=True)


def test_name_search_reads_no_metadata(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cards come from the index rows (patient_name, description, counts) alone."""
    from mintstore.store import StudyStore

    def no_metadata(*args: object, **kwargs: object) -> None:
        raise AssertionError("the browser search read a study's metadata")

    monkeypatch.setattr(StudyStore, "metadata", no_metadata)
    client = app.test_client()
    page = client.get("/?patient=*anna1*&modality=MR", headers=HTML).get_data(as_text=True)
    assert sorted(_names(page)) == [f"Smith, Anna{d}" for d in (11, 13, 15, 17, 19)], page[-3000:]
    assert len(_names(client.get("/", headers=HTML).get_data(as_text=True))) == 25


def test_rows_without_names_fall_back_to_metadata() -> None:
    """A row indexed before patient_name existed (series 0) still gets its card."""
    from datetime import UTC, datetime

    from mintstore.store import SearchHit
    from mintstore.web.browser_queries import card_from_hit

    old = SearchHit("1.2.3", 0, datetime.now(UTC), patient_id="P1")
    assert card_from_hit(old) is None
    new = SearchHit(
        "1.2.3",
        1,
        datetime.now(UTC),
        patient_name="A^B",
        series=2,
        instances=5,
        modalities=("MR", "CT"),
    )
    card = card_from_hit(new)
    assert card is not None and card.patient_name == "A^B" and card.modalities == ("CT", "MR")
    assert (card.series_count, card.instance_count) == (2, 5)
