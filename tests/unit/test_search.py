"""Search request building, response shaping and the client API's input rules (no services)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from pokupai_lib.client_api.app import SearchRequest
from pokupai_lib.client_api.checks import latency_summary
from pokupai_lib.client_api.events import SearchEvent, parse_search_event
from pokupai_lib.client_api.query import hits_from_response, search_body


@pytest.mark.parametrize("text", ['часы", "script": "x', '{"match_all": {}}', "*", "a OR b"])
def test_user_text_is_only_ever_the_query_value(text: str) -> None:
    body = search_body(text, 10)
    assert body["query"]["multi_match"]["query"] == text
    assert set(body["query"]) == {"multi_match"}
    assert set(body["query"]["multi_match"]) == {"query", "fields", "type", "operator"}
    assert json.loads(json.dumps(body)) == body


def test_hits_become_rows_with_price_category_and_score() -> None:
    response = {"hits": {"total": {"value": 7}, "hits": [
        {"_id": "12345", "_score": 3.14159, "_source": {
            "product_id": "12345", "name": "Умные часы XYZ", "category": "Электроника",
            "price": {"amount": 4999.99, "currency": "RUB"}}}]}}
    total, hits = hits_from_response(response)
    assert total == 7
    assert hits[0].name == "Умные часы XYZ"
    assert (hits[0].price, hits[0].currency, hits[0].score) == (4999.99, "RUB", 3.1416)


def test_an_empty_answer_is_no_hits() -> None:
    assert hits_from_response({}) == (0, [])


def test_the_mvp_search_body_is_accepted() -> None:
    request = SearchRequest.model_validate({"id_client": "123", "word_search": " Красота "})
    assert (request.id_client, request.word_search) == ("123", "Красота")


@pytest.mark.parametrize(("body", "field"), [
    ({"id_client": "123", "word_search": "   "}, "word_search"),
    ({"id_client": "", "word_search": "часы"}, "id_client"),
    ({"id_client": 123, "word_search": "часы"}, "id_client"),
    ({"id_client": "1", "word_search": "а" * 201}, "word_search"),
    ({"id_client": "1", "word_search": "ча\x00сы"}, "word_search"),
    ({"id_client": "1", "word_search": "часы", "size": 5}, "size"),
])
def test_bad_search_bodies_are_refused_naming_the_field(body: dict[str, object],
                                                        field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SearchRequest.model_validate(body)
    assert field in {str(e["loc"][0]) for e in refused.value.errors()}


def test_search_events_round_trip_the_design_contract() -> None:
    event = SearchEvent.now("123", "Красота")
    data = json.loads(event.to_json())
    assert set(data) == {"id_client", "word_search", "searched_at"}
    assert data["searched_at"].endswith("Z")
    assert parse_search_event(event.to_json()) == event
    with pytest.raises(ValueError, match="searched_at"):
        parse_search_event(b'{"id_client": "1", "word_search": "x"}')


def test_latency_summary_reports_percentiles() -> None:
    row = latency_summary([float(v) for v in range(1, 101)]).iloc[0]
    assert row["requests"] == 100
    assert row["p50"] == pytest.approx(50.5)
    assert row["max"] == 100.0
