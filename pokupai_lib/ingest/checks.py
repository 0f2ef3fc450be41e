"""Steps and checks of the publish → filter pipeline that notebooks and tests share."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema

from pokupai_lib.bans.client import BanApiClient
from pokupai_lib.bans.rules import BanList
from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabError
from pokupai_lib.ingest.catalog import Catalog, generate_catalog, write_shop_files
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.clients import admin_client, client_config
from pokupai_lib.kafka.faults import coordinator_moving
from pokupai_lib.kafka.topic_reader import end_offsets, latest_by_key, read_range
from pokupai_lib.schema.registry import registry_client

__all__ = [
    "BAD_LINES",
    "dead_letters",
    "filter_stats",
    "live_ban_demo",
    "prepare_shop_files",
    "products_matching_bans",
    "republish",
    "send_bad_records",
    "shop_clear_products",
    "wait_for_filter",
]

# One line per kind of problem the publisher must report and skip, never send.
BAD_LINES = (
    '{"product_id": "bad-1", "name": "Обрезанная строка"',
    '{"product_id": "bad-2", "description": "без имени и цены"}',
)


def prepare_shop_files(cfg: LabConfig, count: int, seed: int, with_bad_lines: bool = True,
                       first_id: int = 100_001) -> tuple[Catalog, list[Path]]:
    """Generate the shops' JSON Lines files (plus a file of bad lines) under ``.lab/shops``."""
    catalog = generate_catalog(count, seed=seed, first_id=first_id)
    directory = cfg.paths.state / "shops" / f"seed-{seed}"
    paths = write_shop_files(catalog.products, directory)
    if with_bad_lines:
        bad = directory / "store_bad.jsonl"
        bad.write_text("".join(line + "\n" for line in BAD_LINES), encoding="utf-8")
        paths.append(bad)
    return catalog, paths


def filter_stats(cfg: LabConfig) -> dict[str, Any]:
    """The running filter's JSON stats view."""
    stats: dict[str, Any] = httpx.get(f"{cfg.filter.url}/stats", timeout=5).json()
    return stats


def _committed_offsets(admin: AdminClient, cfg: LabConfig) -> dict[int, int]:
    request = ConsumerGroupTopicPartitions(cfg.filter.group_id)
    result = admin.list_consumer_group_offsets([request])[cfg.filter.group_id].result()
    return {tp.partition: tp.offset for tp in result.topic_partitions
            if tp.topic == cfg.topics.shop_raw}


def wait_for_filter(cfg: LabConfig, timeout_s: float | None = None) -> dict[str, Any]:
    """Wait until the filter has committed everything in ``shop-raw`` now; return its stats.

    Compares the filter group's committed offsets (they commit with each transaction) to the
    end offsets of ``shop-raw`` taken at the call, so what was published before is done.
    """
    timeout_s = cfg.timeouts.catch_up_s if timeout_s is None else timeout_s
    target = end_offsets(cfg, cfg.topics.shop_raw)
    admin = admin_client(cfg)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            stats = filter_stats(cfg)
        except httpx.TransportError:  # restarting: its keeper brings it back
            time.sleep(0.5)
            continue
        try:
            committed = _committed_offsets(admin, cfg)
        except KafkaException as exc:  # the group's coordinator is loading after a restart
            if not coordinator_moving(exc.args[0]):
                raise
            time.sleep(0.5)
            continue
        if stats["ready"] and all(committed.get(p, -1) >= end for p, end in target.items()
                                  if end > 0):
            return _settled(cfg, stats)
        time.sleep(0.3)
    raise LabError(f"the filter did not catch up within {timeout_s:.0f} s; "
                   f"see {cfg.paths.log('filter')}")


def _settled(cfg: LabConfig, stats: dict[str, Any], wait_s: float = 3.0) -> dict[str, Any]:
    """The filter refreshes its gauges once a second: give a stale lag time to reach 0."""
    deadline = time.monotonic() + wait_s
    while stats["lag"] != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        stats = filter_stats(cfg)
    return stats


def shop_clear_products(cfg: LabConfig) -> dict[str, dict[str, Any]]:
    """The products ``shop-clear`` holds now (latest value per key, tombstones removed)."""
    latest = latest_by_key(read_range(cfg, cfg.topics.shop_clear))
    return {key.decode(): json.loads(value) for key, value in latest.items() if value}


def products_matching_bans(cfg: LabConfig, products: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The products that a ban entry in ``ban-words`` matches (should be none)."""
    bans = BanList()
    BanTopic(cfg, principal="admin").load(bans)
    rows = []
    for product_id, product in products.items():
        match = bans.match(product)
        if match is not None:
            rows.append({"product_id": product_id, "rule": match.rule, "term": match.term,
                         "field": match.field})
    return pd.DataFrame(rows, columns=["product_id", "rule", "term", "field"])


def _wire(schema_id: int, payload: bytes) -> bytes:
    """The Confluent wire format: magic byte 0, the schema id, then the Avro body."""
    return struct.pack(">bI", 0, schema_id) + payload


_LEGACY_SCHEMA = json.dumps({"type": "record", "name": "LegacyProduct",
                             "namespace": "ru.pokupai.legacy",
                             "fields": [{"name": "product_id", "type": "string"}]})


def send_bad_records(cfg: LabConfig) -> list[str]:
    """As ``shop-publisher``, write three records the filter must dead-letter; return their keys.

    Garbage bytes; a wire-format record naming a schema id the registry does not know; a
    record written with a registered legacy schema that lacks the product's required fields.
    """
    legacy_id = registry_client(cfg).register_schema(
        "legacy-product-value", Schema(_LEGACY_SCHEMA, "AVRO"))
    legacy_body = b"\x12" + b"legacy-01"  # Avro string: zig-zag length 9, then the bytes
    records = [
        (b"dlq-garbage", b"\x89PNG not an avro record"),
        (b"dlq-unknown-schema", _wire(987_654, b"\x00")),
        (b"dlq-missing-fields", _wire(int(legacy_id), legacy_body)),
    ]
    producer = Producer(client_config(cfg, "primary", "shop-publisher", acks="all"))
    failures: list[KafkaError] = []
    for key, value in records:
        producer.produce(cfg.topics.shop_raw, value, key,
                         on_delivery=lambda err, _m: failures.append(err) if err else None)
    producer.flush(30)
    if failures:
        raise LabError(f"could not write the bad records: {failures[0].str()}")
    return [key.decode() for key, _value in records]


def dead_letters(cfg: LabConfig, start: dict[int, int]) -> pd.DataFrame:
    """The ``shop-dlq`` records written since ``start``, with the reason from their headers."""
    rows = [{"key": (r.key or b"").decode(errors="replace"),
             "error_type": r.headers.get("error.type", "?"),
             "error_message": r.headers.get("error.message", "?"),
             "source": f"{r.headers.get('source.topic')}[{r.headers.get('source.partition')}]"}
            for r in read_range(cfg, cfg.topics.shop_dlq, start)]
    return pd.DataFrame(rows, columns=["key", "error_type", "error_message", "source"])


def republish(cfg: LabConfig, product: dict[str, Any]) -> None:
    """Publish one product again, through the same publisher path as the shops' files."""
    directory = cfg.paths.state / "shops" / "republish"
    result = publish_files(cfg, write_shop_files([product], directory), progress=False)
    if result.sent != 1:
        raise LabError(f"republishing {product['product_id']} failed: {result.problems}")


def live_ban_demo(cfg: LabConfig, catalog: Catalog, api: BanApiClient) -> pd.DataFrame:
    """Ban a word of an allowed product live, re-publish it, watch it leave ``shop-clear``.

    Then lift the ban and re-publish once more, so the platform ends as it began.
    Returns one row per step.
    """
    product = next(p for p in catalog.products if p["product_id"] not in catalog.banned_ids)
    word, pid = product["brand"], product["product_id"]
    steps = [{"step": "before", "in shop-clear": pid in shop_clear_products(cfg)}]
    api.add(word)
    time.sleep(1.0)  # the filter applies ban changes within a second
    republish(cfg, product)
    wait_for_filter(cfg)
    steps.append({"step": f"banned {word!r}, re-published",
                  "in shop-clear": pid in shop_clear_products(cfg)})
    api.remove(word)
    time.sleep(1.0)
    republish(cfg, product)
    wait_for_filter(cfg)
    steps.append({"step": f"ban on {word!r} lifted, re-published",
                  "in shop-clear": pid in shop_clear_products(cfg)})
    return pd.DataFrame(steps).assign(product_id=pid)
