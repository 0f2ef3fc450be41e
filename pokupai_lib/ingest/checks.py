"""Steps and checks of the publish → filter pipeline that notebooks and tests share."""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema

from pokupai_lib.bans.rules import BanList
from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabError
from pokupai_lib.ingest.catalog import Catalog, generate_catalog, write_shop_files
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.clients import admin_client, client_config
from pokupai_lib.kafka.faults import coordinator_moving
from pokupai_lib.kafka.topic_reader import end_offsets, latest_by_key, read_range
from pokupai_lib.runtime.services import FILTER
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.schema.registry import registry_client

__all__ = [
    "BAD_LINES",
    "committed_offsets",
    "dead_letters",
    "filter_stats",
    "prepare_shop_files",
    "products_matching_bans",
    "republish",
    "send_bad_records",
    "shop_clear_products",
    "wait_for_filter",
    "wait_for_filter_bans",
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


def committed_offsets(admin: AdminClient, cfg: LabConfig) -> dict[int, int]:
    """The filter group's committed offsets of ``shop-raw`` (they move with each transaction)."""
    request = ConsumerGroupTopicPartitions(cfg.filter.group_id)
    result = admin.list_consumer_group_offsets([request])[cfg.filter.group_id].result()
    return {tp.partition: tp.offset for tp in result.topic_partitions
            if tp.topic == cfg.topics.shop_raw}


@dataclass(frozen=True)
class _FilterProgress:
    """What wait_for_filter judges: readiness, lag, and records not yet committed."""

    ready: bool
    lag: int
    uncommitted: dict[int, int]
    ban_changes_pending: bool
    stats: dict[str, Any] = field(repr=False)

    @property
    def caught_up(self) -> bool:
        return (self.ready and self.lag == 0 and not self.uncommitted
                and not self.ban_changes_pending)


def waiting_through_restarts(exc: Exception) -> bool:
    """The filter restarting (its keeper brings it back), or its group's coordinator loading
    after a broker restart."""
    return isinstance(exc, httpx.TransportError) or (
        isinstance(exc, KafkaException) and coordinator_moving(exc.args[0]))



def wait_for_filter(cfg: LabConfig, timeout_s: float | None = None) -> dict[str, Any]:
    """Wait until the filter has committed everything in ``shop-raw`` now and applied every
    ban change it holds to the products judged before; return its stats.

    Compares the filter group's committed offsets (they commit with each transaction) to the
    end offsets of ``shop-raw`` taken at the call, so what was published before is done; and
    waits for its lag gauge, refreshed once a second, to show 0 as well.
    """
    timeout_s = cfg.timeouts.catch_up_s if timeout_s is None else timeout_s
    target = end_offsets(cfg, cfg.topics.shop_raw)
    admin = admin_client(cfg)

    committed_by: float | None = None  # when the offsets were first seen at the target

    def progress() -> _FilterProgress:
        nonlocal committed_by
        read_at = time.time()
        committed = committed_offsets(admin, cfg)
        uncommitted = {p: end - max(committed.get(p, -1), 0) for p, end in target.items()
                       if end > 0 and committed.get(p, -1) < end}
        if uncommitted:
            committed_by = None
        elif committed_by is None:
            committed_by = read_at
        stats = filter_stats(cfg)
        # Gauges refreshed after the offsets were first seen committed: the loop refreshes
        # between batches, so the batch that committed them has reached the filter's state
        # by then. (Within one probe, a refresh once a second rarely fell in the few
        # milliseconds between the two reads: waits of 15-30 s were seen.)
        fresh = committed_by is not None and float(stats.get("refreshed_at", 0)) > committed_by
        return _FilterProgress(bool(stats["ready"]) and fresh, int(stats["lag"]), uncommitted,
                               bool(stats.get("ban_changes_pending")), stats)

    caught_up = wait_until(progress, until=lambda state: state.caught_up, timeout_s=timeout_s,
                           every_s=0.3, what="the filter to commit everything in "
                           f"{cfg.topics.shop_raw} up to {target}",
                           ignore=waiting_through_restarts, log=cfg.paths.log(FILTER))
    return caught_up.stats


def wait_for_filter_bans(cfg: LabConfig, timeout_s: float = 10.0) -> int:
    """Wait until the running filter holds as many ban entries as ``ban-words`` does now (it
    applies a change within a second and shows its count in ``/stats`` once a second);
    return that count. Call it after a change to the ban list, before publishing."""
    bans = BanList()
    BanTopic(cfg, principal="admin").load(bans)
    expected = len(bans)

    def held() -> dict[str, Any]:
        stats = filter_stats(cfg)
        return {"ready": stats["ready"], "ban_entries": stats["ban_entries"]}

    wait_until(held, until=lambda state: state["ban_entries"] == expected, timeout_s=timeout_s,
               every_s=0.2, what=f"the filter to hold the {expected} entries of "
               f"{cfg.topics.ban_words}", ignore=(httpx.TransportError,), log=cfg.paths.log(FILTER))
    return expected


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
