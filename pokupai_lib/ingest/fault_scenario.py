"""The filter under faults: a steady stream of good products with poison records of every kind
interleaved, while the schema registry restarts and a broker stops and starts.

Good records are products written with schema v1 or v2 of ``shop-raw-value``; poison records
are those the filter must dead-letter: a product too large once converted to JSON, a record of
a look-alike schema of another subject (same field names, other types), garbage bytes and an
unknown schema id (a tombstone is no poison: it delists the product). :func:`run_fault_scenario`
returns what came out of the filter, record by record, so a test or a notebook can judge it.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import fastavro
import orjson
import pandas as pd
from confluent_kafka import KafkaError, Producer
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabError
from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.ingest.checks import filter_stats, wait_for_filter
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.cluster import restore_preferred_leaders, start_node, stop_node
from pokupai_lib.kafka.topic_reader import end_offsets, read_range
from pokupai_lib.runtime.services import FILTER
from pokupai_lib.runtime.supervisor import lab_supervisor
from pokupai_lib.schema.registration import product_subject, schema_file, try_register
from pokupai_lib.schema.registry import registry_client, registry_spec

__all__ = ["POISON_KINDS", "FaultRecords", "FaultReport", "run_fault_scenario"]

# Each poison kind and the dead letter the filter must give it.
POISON_KINDS: dict[str, str] = {
    "oversize": "too-large", "wrong-types": "wrong-schema", "garbage": "not-avro",
    "unknown-schema-id": "unknown-schema",
}
_LOOKALIKE_SUBJECT = "pokupai-lookalike-product-value"
_UNKNOWN_SCHEMA_ID = 987_654


@dataclass(frozen=True)
class FaultReport:
    """What went in and what came out of the filter across the faults."""

    good: dict[str, int]                     # product_id → schema version written
    poison: dict[str, str]                   # key → poison kind
    clear: Counter[str]                      # product_id → values written to shop-clear
    clear_fields: dict[str, set[str]]        # product_id → fields of its shop-clear value
    dead_letters: dict[str, str]             # key → error type in shop-dlq
    faults: list[str]
    pid_before: int | None
    pid_after: int | None
    restarts_before: int
    restarts_after: int
    recoveries: dict[str, int] = field(default_factory=dict)

    @property
    def missing_good(self) -> list[str]:
        return sorted(set(self.good) - set(self.clear))

    @property
    def repeated_good(self) -> dict[str, int]:
        return {key: n for key, n in self.clear.items() if n > 1}

    @property
    def good_dead_lettered(self) -> list[str]:
        return sorted(set(self.good) & set(self.dead_letters))

    @property
    def poison_misjudged(self) -> dict[str, tuple[str, str | None]]:
        """Poison records without the expected dead letter: key → (expected, got)."""
        return {key: (POISON_KINDS[kind], self.dead_letters.get(key))
                for key, kind in self.poison.items()
                if self.dead_letters.get(key) != POISON_KINDS[kind]}

    @property
    def filter_survived(self) -> bool:
        """The filter kept its pid, or its keeper restarted it (never left down)."""
        return self.pid_after is not None and (
            self.pid_after == self.pid_before or self.restarts_after > self.restarts_before)

    def summary(self) -> str:
        v2 = [key for key, version in self.good.items() if version == 2]
        with_field = sum("discount_percent" in self.clear_fields.get(key, ()) for key in v2)
        return (f"good {len(self.good)}: in shop-clear {len(self.clear)}, missing "
                f"{len(self.missing_good)}, repeated {len(self.repeated_good)}, dead-lettered "
                f"{len(self.good_dead_lettered)}; written with schema v2 {len(v2)}, with their "
                f"new field in shop-clear {with_field}\npoison {len(self.poison)}: dead-lettered "
                f"with the expected reason {len(self.poison) - len(self.poison_misjudged)}\n"
                f"filter still running (same process, or restarted by its keeper): "
                f"{self.filter_survived}")

    def poison_frame(self) -> pd.DataFrame:
        """One row per poison kind: records sent, the dead letter expected, how many got it."""
        rows = [{"poison": kind, "sent": sum(k == kind for k in self.poison.values()),
                 "dead letter": reason,
                 "as expected": sum(k == kind and self.dead_letters.get(key) == reason
                                    for key, k in self.poison.items())}
                for kind, reason in POISON_KINDS.items()]
        return pd.DataFrame(rows)


class FaultRecords:
    """Encodes good and poison records as the shops' publisher would (or would not)."""

    def __init__(self, cfg: LabConfig) -> None:
        registry = registry_client(cfg)
        subject = product_subject(cfg)
        for name in ("product.avsc", "product-v2.avsc"):
            outcome = try_register(registry, subject, schema_file(cfg, name))
            if not outcome.accepted:
                raise LabError(f"{name} not registered for {subject}: {outcome.message}")
        conf = {"auto.register.schemas": False, "use.latest.version": False}
        self.v1 = AvroSerializer(registry, schema_file(cfg, "product.avsc").read_text(), conf=conf)
        self.v2 = AvroSerializer(registry, schema_file(cfg, "product-v2.avsc").read_text(),
                                 conf=conf)
        lookalike = _lookalike_schema(cfg)
        self.lookalike_id = int(registry.register_schema(
            _LOOKALIKE_SUBJECT, Schema(json.dumps(lookalike), "AVRO")))
        self.lookalike = fastavro.parse_schema(lookalike)
        self.ctx = SerializationContext(cfg.topics.shop_raw, MessageField.VALUE)

    def good(self, product: dict[str, Any], version: int) -> bytes:
        if version == 2:
            return bytes(self.v2({**product, "discount_percent": 15}, self.ctx) or b"")
        return bytes(self.v1(product, self.ctx) or b"")

    def poison(self, kind: str, product: dict[str, Any]) -> bytes | None:
        if kind == "oversize":
            # Tabs: 1 byte each in Avro, 2 once escaped in JSON.
            return self.good({**product, "description": "Описание.\t" + "\t" * 500_000}, 1)
        if kind == "wrong-types":
            body = io.BytesIO()
            fastavro.schemaless_writer(body, self.lookalike, {**product, "price": "дёшево"})
            return _wire(self.lookalike_id, body.getvalue())
        if kind == "garbage":
            return b"\x89PNG not an avro record " + str(product["product_id"]).encode()
        if kind == "unknown-schema-id":
            return _wire(_UNKNOWN_SCHEMA_ID, b"\x00")
        raise ValueError(f"unknown poison kind {kind!r}; use one of {', '.join(POISON_KINDS)}")


def _wire(schema_id: int, body: bytes) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + body


def _lookalike_schema(cfg: LabConfig) -> dict[str, Any]:
    """The product schema under another name, with ``price`` a string."""
    schema: dict[str, Any] = json.loads(schema_file(cfg, "product.avsc").read_text())
    schema["name"], schema["namespace"] = "LookalikeProduct", "ru.pokupai.lookalike"
    for entry in schema["fields"]:
        if entry["name"] == "price":
            entry["type"] = "string"
    return schema


def _stream(count: int, poison_every: int, seed: int
            ) -> Iterator[tuple[str, str | int, dict[str, Any]]]:
    """(key, poison kind or schema version, product) for each record: poison every
    ``poison_every``-th, the kinds in turn, and one good product in four written with v2."""
    catalog = generate_catalog(count, seed=seed, banned_share=0.0,
                               first_id=random.randint(10**9, 9 * 10**9))  # noqa: S311
    kinds = list(POISON_KINDS)
    for n, product in enumerate(catalog.products):
        if n % poison_every == poison_every - 1:
            kind = kinds[(n // poison_every) % len(kinds)]
            yield f"poison-{kind}-{product['product_id']}", kind, product
        else:
            yield product["product_id"], 2 if n % 4 == 3 else 1, product


Plan = list[tuple[str, str | int, dict[str, Any]]]


def _send_all(cfg: LabConfig, records: FaultRecords, plan: Plan, rate: float,
              failures: list[str]) -> None:
    producer = Producer(client_config(cfg, "primary", "shop-publisher", **{
        "acks": "all", "enable.idempotence": True, "linger.ms": 5}))

    def delivered(err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            failures.append(f"{msg.key()}: {err.str()}")

    for key, what, product in plan:
        value = records.good(product, what) if isinstance(what, int) \
            else records.poison(what, product)
        producer.produce(cfg.topics.shop_raw, value, key.encode(), on_delivery=delivered)
        producer.poll(0)
        time.sleep(1 / rate)
    left = producer.flush(120)
    if left:
        failures.append(f"{left} records not delivered")


def _filter_identity(cfg: LabConfig) -> tuple[int | None, int]:
    supervisor = lab_supervisor(cfg)
    state = supervisor.keeper_state(FILTER)
    return supervisor.worker_pid(FILTER), state.restarts if state else 0


def _timeline(cfg: LabConfig, broker: int, down_s: float
              ) -> list[tuple[float, str, Callable[[], object]]]:
    """(seconds after the previous step ended, what, action)."""
    supervisor = lab_supervisor(cfg)
    return [
        (3.0, "schema registry restarted", lambda: supervisor.restart(registry_spec(cfg))),
        (1.0, f"broker {broker} stopped", lambda: stop_node(cfg, "primary", broker, supervisor)),
        (down_s, f"broker {broker} started",
         lambda: start_node(cfg, "primary", broker, supervisor)),
    ]


def run_fault_scenario(cfg: LabConfig, count: int = 4_000, rate: float = 100.0,
                       poison_every: int = 10, broker: int = 2, broker_down_s: float = 10.0,
                       seed: int = 0) -> FaultReport:
    """Send ``count`` records at ``rate``/s (every ``poison_every``-th poison) while the
    registry restarts and ``broker`` stops for ``broker_down_s``; wait until the filter has
    caught up and return what reached ``shop-clear`` and ``shop-dlq``."""
    records = FaultRecords(cfg)
    plan = list(_stream(count, poison_every, seed or random.randint(1, 10**6)))  # noqa: S311
    pid_before, restarts_before = _filter_identity(cfg)
    clear_start = end_offsets(cfg, cfg.topics.shop_clear)
    dlq_start = end_offsets(cfg, cfg.topics.shop_dlq)
    failures: list[str] = []
    sender = threading.Thread(target=_send_all, name="fault-stream",
                              args=(cfg, records, plan, rate, failures))
    started = time.monotonic()
    sender.start()
    faults = []
    for pause, what, act in _timeline(cfg, broker, broker_down_s):
        time.sleep(pause)
        act()
        faults.append(f"{time.monotonic() - started:5.1f} s {what}")
    sender.join()
    restore_preferred_leaders(cfg, "primary")
    if failures:
        raise LabError(f"the fault stream lost records on the way in: {failures[:3]}")
    wait_for_filter(cfg, timeout_s=180)
    return _report(cfg, plan, clear_start, dlq_start, faults, pid_before, restarts_before)


def _report(cfg: LabConfig, plan: Plan, clear_start: dict[int, int],
            dlq_start: dict[int, int], faults: list[str], pid_before: int | None,
            restarts_before: int) -> FaultReport:
    keys = {key for key, _what, _product in plan}
    clear: Counter[str] = Counter()
    fields: dict[str, set[str]] = {}
    for record in read_range(cfg, cfg.topics.shop_clear, clear_start):
        key = (record.key or b"").decode()
        if key in keys and record.value is not None:
            clear[key] += 1
            fields[key] = set(orjson.loads(record.value))
    dead = {(r.key or b"").decode(): r.headers.get("error.type", "?")
            for r in read_range(cfg, cfg.topics.shop_dlq, dlq_start)
            if (r.key or b"").decode() in keys}
    pid_after, restarts_after = _filter_identity(cfg)
    stats: dict[str, Any] = filter_stats(cfg)
    return FaultReport(
        good={k: w for k, w, _p in plan if isinstance(w, int)},
        poison={k: w for k, w, _p in plan if isinstance(w, str)},
        clear=clear, clear_fields=fields, dead_letters=dead, faults=faults,
        pid_before=pid_before, pid_after=pid_after, restarts_before=restarts_before,
        restarts_after=restarts_after, recoveries=dict(stats.get("recoveries") or {}))

