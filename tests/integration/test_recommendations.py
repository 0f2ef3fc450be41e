"""Recommendations on the real stack: client API → MirrorMaker 2 → Quix recommender → API."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import orjson
import pytest
from lab_fixture import Lab

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.ingest.checks import wait_for_filter, wait_for_filter_bans
from pokupai_lib.kafka.topic_reader import end_offsets, latest_by_key, read_range
from pokupai_lib.mirroring.checks import wait_for_mirror
from pokupai_lib.recommendations.checks import (
    category_mismatches,
    kill_during_searches,
    recommender_stats,
    wait_for_recommendations,
    wait_until_caught_up,
)


@pytest.fixture(scope="module")
def api(lab: Lab) -> ClientApiClient:
    """The client API's client, once everything upstream of the recommender has settled and
    it has caught up with its input."""
    # The pipeline tests publish 12,000 products just before, and a ban an earlier test lifts
    # brings products back after it ended (seen: 6 restored while the first test compared the
    # category counts with shop-clear, read a moment apart). Settle each stage in order.
    wait_for_filter_bans(lab.cfg)
    wait_for_filter(lab.cfg)
    wait_for_mirror(lab.cfg)
    wait_until_caught_up(lab.cfg, timeout_s=300)
    return ClientApiClient(lab.cfg)


def _run() -> str:
    return uuid.uuid4().hex[:8]


def test_a_category_search_in_any_form_recommends_exactly_that_categorys_products(
        lab: Lab, api: ClientApiClient) -> None:
    client = f"it-{_run()}"
    for word in ("Красота", "КРАСОТУ"):
        api.search_response(client, word).raise_for_status()
    rows = wait_for_recommendations(lab.cfg, api, client, count=2)
    assert category_mismatches(lab.cfg) == []
    beauty = [row for row in categories(lab.cfg) if row["CATEGORY"] == "Красота"]
    shown = min(lab.cfg.recommender.shown_per_category, beauty[0]["PRODUCT_COUNT"])
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
        lab: Lab, api: ClientApiClient) -> None:
    client = f"it-{_run()}"
    api.search_response(client, "часы").raise_for_status()
    (row,) = wait_for_recommendations(lab.cfg, api, client)
    assert (row["MATCHED_CATEGORY"], row["MATCH_TYPE"]) == ("Электроника", "word")
    assert any("часы" in name.lower() for name in row["ALL_PRODUCTS_ARRAY"])


def test_a_search_that_matches_nothing_is_recorded_without_products(
        lab: Lab, api: ClientApiClient) -> None:
    client = f"it-{_run()}"
    api.search_response(client, "абракадабра").raise_for_status()
    (row,) = wait_for_recommendations(lab.cfg, api, client)
    assert row["MATCH_TYPE"] == "none" and row["ALL_PRODUCTS_ARRAY"] is None


def test_an_unknown_client_gets_404_naming_it(api: ClientApiClient) -> None:
    response = api.recommendations("never-searched-42")
    assert response.status_code == 404
    assert "never-searched-42" in response.json()["detail"]


def test_a_malformed_search_event_is_dead_lettered_and_the_recommender_goes_on(
        lab: Lab, api: ClientApiClient) -> None:
    rec = lab.cfg.recommender
    start = end_offsets(lab.cfg, rec.dead_letters, cluster=lab.cfg.mirror.target)
    key = f"bad-{_run()}"
    producer = lab.producer()
    producer.produce(lab.cfg.topics.client_searches, key=key.encode(), value=b"{broken")
    assert producer.flush(15) == 0
    client = f"it-{_run()}"
    api.search_response(client, "Красота").raise_for_status()
    wait_for_recommendations(lab.cfg, api, client)
    wait_until_caught_up(lab.cfg)
    letters = read_range(lab.cfg, rec.dead_letters, start, cluster=lab.cfg.mirror.target)
    (letter,) = [orjson.loads(r.value) for r in letters if r.key == key.encode()]
    assert "not JSON" in letter["error"] and letter["value"] == "{broken"
    assert (letter["error_type"], letter["value_bytes"]) == ("Invalid", len(b"{broken"))
    assert letter["topic"] == lab.cfg.mirror.remote_topic(lab.cfg.topics.client_searches)


def test_a_product_whose_tags_are_not_strings_is_dead_lettered_and_the_recommender_goes_on(
        lab: Lab, api: ClientApiClient) -> None:
    rec = lab.cfg.recommender
    start = end_offsets(lab.cfg, rec.dead_letters, cluster=lab.cfg.mirror.target)
    key = f"badtags-{_run()}"
    bad = {"product_id": key, "name": "Товар с тегами числом", "category": "Красота",
           "tags": 7}
    producer = lab.producer(acks="all")
    producer.produce(lab.cfg.topics.shop_clear, key=key.encode(), value=orjson.dumps(bad))
    producer.produce(lab.cfg.topics.shop_clear, key=key.encode(), value=None)  # clean up
    assert producer.flush(15) == 0
    client = f"it-{_run()}"
    api.search_response(client, "Красота").raise_for_status()
    wait_for_recommendations(lab.cfg, api, client)
    wait_until_caught_up(lab.cfg)
    letters = read_range(lab.cfg, rec.dead_letters, start, cluster=lab.cfg.mirror.target)
    (letter,) = [orjson.loads(r.value) for r in letters if r.key == key.encode()]
    assert letter["error_type"] == "Invalid" and "tags is a JSON number" in letter["error"]
    assert letter["topic"] == lab.cfg.mirror.remote_topic(lab.cfg.topics.shop_clear)
    assert category_mismatches(lab.cfg) == []


@pytest.mark.slow
def test_kill_9_mid_stream_loses_and_repeats_no_recommendation(
        lab: Lab, api: ClientApiClient) -> None:
    report = kill_during_searches(lab.cfg, searches=400)
    assert report.mid_stream, report.summary()
    assert report.missing == [] and report.repeated == {}
    assert report.recommendations == report.searches
    assert recommender_stats(lab.cfg)["ready"] is True
