"""Recommendations on the real stack: client API → MirrorMaker 2 → Quix recommender → API."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.topic_reader import end_offsets, latest_by_key, read_range
from pokupai_lib.recommendations.checks import (
    category_mismatches,
    kill_during_searches,
    recommender_stats,
    wait_for_recommendations,
    wait_until_caught_up,
)


@pytest.fixture(scope="module")
def api(platform: LabConfig) -> ClientApiClient:
    # The pipeline tests publish 12,000 products just before: give the recommender time.
    wait_until_caught_up(platform, timeout_s=300)
    return ClientApiClient(platform)


def _run() -> str:
    return uuid.uuid4().hex[:8]


def test_a_category_search_in_any_form_recommends_exactly_that_categorys_products(
        platform: LabConfig, api: ClientApiClient) -> None:
    client = f"it-{_run()}"
    for word in ("Красота", "КРАСОТУ"):
        api.search_response(client, word).raise_for_status()
    rows = wait_for_recommendations(platform, api, client, count=2)
    assert category_mismatches(platform) == []
    beauty = [row for row in categories(platform) if row["CATEGORY"] == "Красота"]
    shown = min(platform.recommender.shown_per_category, beauty[0]["PRODUCT_COUNT"])
    assert len(beauty[0]["ALL_PRODUCTS"]) <= shown
    assert [r["SEARCH_TERM"] for r in rows] == ["КРАСОТУ", "Красота"]  # newest first
    for row in rows:
        assert (row["MATCHED_CATEGORY"], row["MATCH_TYPE"]) == ("Красота", "category")
        assert Counter(row["ALL_PRODUCTS_ARRAY"]) == Counter(beauty[0]["ALL_PRODUCTS"])
        assert row["TOTAL_PRODUCTS"] == beauty[0]["PRODUCT_COUNT"]
        assert row["PRODUCTS_IN_CATEGORY"] == ", ".join(row["ALL_PRODUCTS_ARRAY"])


def categories(cfg: LabConfig) -> list[dict[str, Any]]:
    latest = latest_by_key(read_range(cfg, cfg.recommender.products_by_category,
                                      cluster=cfg.mirror.target))
    return [orjson.loads(v) for v in latest.values() if v is not None]


def test_a_word_that_is_not_a_category_recommends_from_the_category_of_its_products(
        platform: LabConfig, api: ClientApiClient) -> None:
    client = f"it-{_run()}"
    api.search_response(client, "часы").raise_for_status()
    (row,) = wait_for_recommendations(platform, api, client)
    assert (row["MATCHED_CATEGORY"], row["MATCH_TYPE"]) == ("Электроника", "word")
    assert any("часы" in name.lower() for name in row["ALL_PRODUCTS_ARRAY"])


def test_a_search_that_matches_nothing_is_recorded_without_products(
        platform: LabConfig, api: ClientApiClient) -> None:
    client = f"it-{_run()}"
    api.search_response(client, "абракадабра").raise_for_status()
    (row,) = wait_for_recommendations(platform, api, client)
    assert row["MATCH_TYPE"] == "none" and row["ALL_PRODUCTS_ARRAY"] is None


def test_an_unknown_client_gets_404_naming_it(api: ClientApiClient) -> None:
    response = api.recommendations("never-searched-42")
    assert response.status_code == 404
    assert "never-searched-42" in response.json()["detail"]


def test_a_malformed_search_event_is_dead_lettered_and_the_recommender_goes_on(
        platform: LabConfig, api: ClientApiClient) -> None:
    rec = platform.recommender
    start = end_offsets(platform, rec.dead_letters, cluster=platform.mirror.target)
    key = f"bad-{_run()}"
    producer = Producer(client_config(platform, "primary", "admin"))
    producer.produce(platform.topics.client_searches, key=key.encode(), value=b"{broken")
    assert producer.flush(15) == 0
    client = f"it-{_run()}"
    api.search_response(client, "Красота").raise_for_status()
    wait_for_recommendations(platform, api, client)
    wait_until_caught_up(platform)
    letters = read_range(platform, rec.dead_letters, start, cluster=platform.mirror.target)
    (letter,) = [orjson.loads(r.value) for r in letters if r.key == key.encode()]
    assert "not JSON" in letter["error"] and letter["value"] == "{broken"
    assert (letter["error_type"], letter["value_bytes"]) == ("Invalid", len(b"{broken"))
    assert letter["topic"] == platform.mirror.remote_topic(platform.topics.client_searches)


def test_a_product_whose_tags_are_not_strings_is_dead_lettered_and_the_recommender_goes_on(
        platform: LabConfig, api: ClientApiClient) -> None:
    rec = platform.recommender
    start = end_offsets(platform, rec.dead_letters, cluster=platform.mirror.target)
    key = f"badtags-{_run()}"
    bad = {"product_id": key, "name": "Товар с тегами числом", "category": "Красота",
           "tags": 7}
    producer = Producer(client_config(platform, "primary", "admin", acks="all"))
    producer.produce(platform.topics.shop_clear, key=key.encode(), value=orjson.dumps(bad))
    producer.produce(platform.topics.shop_clear, key=key.encode(), value=None)  # clean up
    assert producer.flush(15) == 0
    client = f"it-{_run()}"
    api.search_response(client, "Красота").raise_for_status()
    wait_for_recommendations(platform, api, client)
    wait_until_caught_up(platform)
    letters = read_range(platform, rec.dead_letters, start, cluster=platform.mirror.target)
    (letter,) = [orjson.loads(r.value) for r in letters if r.key == key.encode()]
    assert letter["error_type"] == "Invalid" and "tags is a JSON number" in letter["error"]
    assert letter["topic"] == platform.mirror.remote_topic(platform.topics.shop_clear)
    assert category_mismatches(platform) == []


@pytest.mark.slow
def test_kill_9_mid_stream_loses_and_repeats_no_recommendation(
        platform: LabConfig, api: ClientApiClient) -> None:
    report = kill_during_searches(platform, searches=400)
    assert report.mid_stream, report.summary()
    assert report.missing == [] and report.repeated == {}
    assert report.recommendations == report.searches
    assert recommender_stats(platform)["ready"] is True
