"""Connect → Elasticsearch and the client API against the real services (issue 4)."""

from __future__ import annotations

import random

import pytest
from lab_fixture import Lab

from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.client_api.checks import search_frame, validation_answers
from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import LabConfig
from pokupai_lib.ingest.catalog import generate_products
from pokupai_lib.ingest.checks import (
    prepare_shop_files,
    republish,
    wait_for_filter,
    wait_for_filter_bans,
)
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.topic_reader import end_offsets
from pokupai_lib.mirroring.checks import wait_for_mirror
from pokupai_lib.search.checks import (
    banned_products_found,
    search_while_elastic_down,
    send_unindexable,
)
from pokupai_lib.search.connect import connector_status
from pokupai_lib.search.elastic import elastic_client, index_count
from pokupai_lib.search.indexing import sink_dead_letters, wait_for_index


@pytest.fixture
def client(lab: Lab) -> ClientApiClient:
    """A client of the client API (search, products, recommendations)."""
    return ClientApiClient(lab.cfg)


def _first_id() -> int:
    return random.randint(100_000_000, 900_000_000)  # noqa: S311 - test data


def _through_the_pipeline(cfg: LabConfig) -> dict[str, dict[str, object]]:
    wait_for_filter(cfg)
    wait_for_mirror(cfg)
    return wait_for_index(cfg)


def test_index_holds_exactly_the_allowed_products(lab: Lab) -> None:
    cfg = lab.cfg
    catalog, paths = prepare_shop_files(cfg, 300, seed=4201, first_id=_first_id(),
                                        with_bad_lines=False)
    publish_files(cfg, paths, progress=False)
    documents = _through_the_pipeline(cfg)
    assert index_count(cfg) == len(documents)
    indexed = elastic_client(cfg).mget(index=cfg.elastic.index,
                                       ids=[p["product_id"] for p in catalog.products])["docs"]
    found = {d["_id"] for d in indexed if d["found"]}
    assert catalog.banned_ids, "the catalog must plant banned products"
    assert found == {p["product_id"] for p in catalog.products} - set(catalog.banned_ids)
    assert banned_products_found(cfg, catalog.banned_ids).empty


def test_republished_product_changes_its_document_not_the_count(lab: Lab) -> None:
    cfg = lab.cfg
    product = generate_products(1, seed=4202, banned_share=0.0, first_id=_first_id())[0]
    product["name"] = "Кофемашина Первая"
    republish(cfg, product)
    _through_the_pipeline(cfg)
    before = index_count(cfg)
    product["name"] = "Кофемашина Вторая"
    republish(cfg, product)
    _through_the_pipeline(cfg)
    document = elastic_client(cfg).get(index=cfg.elastic.index, id=product["product_id"])
    assert document["_source"]["name"] == "Кофемашина Вторая"
    assert index_count(cfg) == before


def test_a_tombstone_deletes_the_document(lab: Lab) -> None:
    cfg = lab.cfg
    product = generate_products(1, seed=4203, banned_share=0.0, first_id=_first_id())[0]
    republish(cfg, product)
    _through_the_pipeline(cfg)
    es = elastic_client(cfg)
    assert es.exists(index=cfg.elastic.index, id=product["product_id"])
    bans = BanTopic(cfg, principal="admin")
    bans.add(product["product_id"], "product_id", "integration test")
    try:
        wait_for_filter_bans(cfg)
        republish(cfg, product)  # now banned: the filter writes a tombstone for its key
        _through_the_pipeline(cfg)
        assert not es.exists(index=cfg.elastic.index, id=product["product_id"])
    finally:
        bans.remove(product["product_id"], "product_id")


def test_russian_morphology_finds_inflected_forms(lab: Lab, client: ClientApiClient) -> None:
    product = generate_products(1, seed=4204, banned_share=0.0, first_id=_first_id())[0]
    product["name"] = "Самовар Тульский"
    republish(lab.cfg, product)
    _through_the_pipeline(lab.cfg)
    for query in ("самоваров", "САМОВАРОМ", "тульских самоварах"):
        hits = search_frame(client, "it-morphology", query)
        assert product["product_id"] in set(hits["product_id"]), query
    assert search_frame(client, "it-morphology", "абракадабра").empty


def test_bad_search_requests_get_422_naming_the_field(client: ClientApiClient) -> None:
    answers = validation_answers(client)
    assert set(answers["status"]) == {422}
    assert all(answer.split(":")[0] in ("id_client", "word_search", "size")
               for answer in answers["answer"])


def test_unknown_product_is_404_with_a_message(client: ClientApiClient) -> None:
    response = client.product("no-such-product")
    assert response.status_code == 404
    assert "no-such-product" in response.json()["detail"]


@pytest.mark.slow
def test_elasticsearch_down_gives_503_and_the_search_is_still_recorded(lab: Lab) -> None:
    observed = search_while_elastic_down(lab.cfg)
    down, back = observed.iloc[0], observed.iloc[1]
    assert down["HTTP"] == 503
    assert "Elasticsearch" in down["answer"]
    assert down["search recorded in client-searches"]
    assert down["health"] == "degraded"
    assert back["HTTP"] == 200


def test_unindexable_record_goes_to_the_dead_letter_topic_and_the_sink_runs_on(lab: Lab) -> None:
    cfg = lab.cfg
    start = end_offsets(cfg, cfg.connect.dlq_topic, cluster="secondary")
    key = send_unindexable(cfg)
    wait_for_mirror(cfg)
    wait_for_index(cfg)
    letters = sink_dead_letters(cfg, start)
    assert list(letters["key"]) == [key]
    assert letters["source"].iloc[0].startswith(cfg.mirror.remote_topic(cfg.topics.shop_clear))
    status = connector_status(cfg, cfg.connect.sink_name)
    assert {status["connector"]["state"], *(t["state"] for t in status["tasks"])} == {"RUNNING"}
