"""What each stage holds now, read for :mod:`pokupai_lib.verify.compare`.

Topics are read from the beginning to their end offsets at the moment of reading
(read_committed), the index with a scroll over every document after a refresh.
"""

from __future__ import annotations

import elastic_transport
import orjson
from elasticsearch import ApiError, helpers

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.errors import SearchIndexError
from pokupai_lib.kafka.topic_reader import Record, latest_by_key, read_range
from pokupai_lib.search.elastic import ELASTIC_SERVICE, elastic_client
from pokupai_lib.verify.compare import Position, document_digest, record_key_text

__all__ = ["category_counts", "index_versions", "sink_dead_letter_positions", "topic_records"]

_SCROLL_SIZE = 2_000


def topic_records(cfg: LabConfig, topic: str, cluster: ClusterName = "primary") -> list[Record]:
    """Every committed record of ``topic``, to its end offsets taken now."""
    return read_range(cfg, topic, cluster=cluster)


def index_versions(cfg: LabConfig) -> dict[str, str]:
    """Document id → version (digest of ``_source``) of every document of ``products``.

    Raises:
        SearchIndexError: Elasticsearch does not answer.
    """
    es, index = elastic_client(cfg), cfg.elastic.index
    try:
        es.indices.refresh(index=index)
        return {hit["_id"]: document_digest(hit["_source"])
                for hit in helpers.scan(es, index=index, query={"query": {"match_all": {}}},
                                        size=_SCROLL_SIZE)}
    except (elastic_transport.TransportError, ApiError) as exc:
        raise SearchIndexError(
            f"Elasticsearch at {cfg.elastic.url} did not answer for {index} ({exc}): start "
            f"the platform with `make up`, see {cfg.paths.log(ELASTIC_SERVICE)}") from exc


def sink_dead_letter_positions(cfg: LabConfig) -> set[Position]:
    """(partition, offset) in the mirrored ``shop-clear`` of every record the Connect sink
    dead-lettered (from the ``__connect.errors.*`` headers of its dead-letter topic)."""
    source = cfg.mirror.remote_topic(cfg.topics.shop_clear)
    positions = set()
    for record in read_range(cfg, cfg.connect.dlq_topic, cluster=cfg.mirror.target):
        headers = record.headers
        if headers.get("__connect.errors.topic") != source:
            continue
        try:
            positions.add((int(headers["__connect.errors.partition"]),
                           int(headers["__connect.errors.offset"])))
        except (KeyError, ValueError):
            continue  # a letter without its source cannot excuse any record
    return positions


def category_counts(cfg: LabConfig) -> dict[str, int]:
    """Category → ``PRODUCT_COUNT`` of the latest ``products_by_category`` row of each
    category (a tombstone removes the category; a row that is not JSON counts as -1)."""
    latest = latest_by_key(read_range(cfg, cfg.recommender.products_by_category,
                                      cluster=cfg.mirror.target))
    counts = {}
    for key, value in latest.items():
        if value is None:
            continue
        try:
            count = int(orjson.loads(value).get("PRODUCT_COUNT", -1))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            count = -1
        counts[record_key_text(key)] = count
    return counts
