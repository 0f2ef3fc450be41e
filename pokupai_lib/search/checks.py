"""Checks and demonstrations of search for notebook 08 and the tests.

Each one works on the real services: the client API, Elasticsearch, Connect and the topics.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import orjson
import pandas as pd
from confluent_kafka import Producer

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.client_api.events import parse_search_event
from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.topic_reader import end_offsets, read_range
from pokupai_lib.runtime.services import CLIENT_API
from pokupai_lib.runtime.supervisor import Supervisor
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.search.elastic import ELASTIC_SERVICE, elastic_client, start_elastic

__all__ = ["banned_products_found", "search_while_elastic_down", "send_unindexable"]


def banned_products_found(cfg: LabConfig, banned_ids: Iterable[str]) -> pd.DataFrame:
    """The products the filter banned that the index nevertheless holds (should be none)."""
    ids = list(banned_ids)
    if not ids:
        return pd.DataFrame(columns=["product_id", "name"])
    es = elastic_client(cfg)
    es.indices.refresh(index=cfg.elastic.index)
    docs = es.mget(index=cfg.elastic.index, ids=ids)["docs"]
    return pd.DataFrame([{"product_id": d["_id"], "name": d["_source"].get("name")}
                         for d in docs if d.get("found")], columns=["product_id", "name"])


def send_unindexable(cfg: LabConfig) -> str:
    """Write a product whose price is not a number to ``shop-clear`` (as admin, bypassing the
    filter), then its tombstone; the sink must dead-letter the first and go on. Returns its key.
    """
    key = f"unindexable-{uuid.uuid4().hex[:8]}"
    bad = {"product_id": key, "name": "Товар с ценой словами",
           "price": {"amount": "дорого", "currency": "RUB"}}
    producer = Producer(client_config(cfg, "primary", "admin", acks="all"))
    producer.produce(cfg.topics.shop_clear, key=key.encode(), value=orjson.dumps(bad))
    producer.produce(cfg.topics.shop_clear, key=key.encode(), value=None)
    if producer.flush(30):
        raise TimeoutError(f"{key} not delivered to {cfg.topics.shop_clear} within 30 s")
    return key


def _wait_recorded(cfg: LabConfig, start: dict[int, int], id_client: str,
                   timeout_s: float = 15.0) -> bool:
    """True once a search of ``id_client`` is in ``client-searches`` after ``start``."""
    return wait_until(
        lambda: any(record.value and parse_search_event(record.value).id_client == id_client
                    for record in read_range(cfg, cfg.topics.client_searches, start)),
        timeout_s=timeout_s, every_s=0.5,
        what=f"a search of {id_client!r} recorded in {cfg.topics.client_searches}",
        log=cfg.paths.log(CLIENT_API))


def search_while_elastic_down(cfg: LabConfig, word: str = "часы") -> pd.DataFrame:
    """Stop Elasticsearch, search, check the answer is a 503 and the search was still
    recorded, then start Elasticsearch again. One row per observation."""
    supervisor = Supervisor(cfg.paths.pids, cfg.paths.logs)
    client = ClientApiClient(cfg)
    id_client = f"es-down-{uuid.uuid4().hex[:6]}"
    start = end_offsets(cfg, cfg.topics.client_searches)
    supervisor.stop(ELASTIC_SERVICE, cfg.service_stop_timeout_s)
    try:
        response = client.search_response(id_client, word)
        recorded = _wait_recorded(cfg, start, id_client)
        health = client.health()
    finally:
        start_elastic(cfg, supervisor)
    after = client.search_response(id_client, word)
    return pd.DataFrame([
        {"when": "Elasticsearch stopped", "HTTP": response.status_code,
         "answer": response.json().get("detail", ""),
         "search recorded in client-searches": recorded, "health": health["status"]},
        {"when": "Elasticsearch started again", "HTTP": after.status_code,
         "answer": "results" if after.json().get("total") else "no results",
         "search recorded in client-searches":
         _wait_recorded(cfg, start, id_client), "health": client.health()["status"]},
    ])
