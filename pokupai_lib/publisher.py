"""The shop publisher: JSON Lines files from the shops → Avro records in ``shop-raw``.

Each record is validated against the product schema first; an invalid one is reported with
its file, line and reason and skipped, never sent. Sending is as ``shop-publisher`` with an
idempotent producer and acks=all, keyed by product_id, serialized by confluent-kafka's
``AvroSerializer`` against the registry (the schema must already be registered).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import KafkaError, Producer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from tqdm.auto import tqdm

from pokupai_lib.clients import client_config
from pokupai_lib.config import LabConfig
from pokupai_lib.product_schema import schema_text, validate_product
from pokupai_lib.registry import registry_client

__all__ = ["PublishProblem", "PublishResult", "publish_files", "read_shop_files"]


@dataclass(frozen=True)
class PublishProblem:
    """A record that was not sent, and why."""

    file: str
    line: int
    reason: str


@dataclass
class PublishResult:
    """What one publish run did: counts, the problems, and its speed."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    problems: list[PublishProblem] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Products sent per second."""
        return self.sent / self.seconds if self.seconds else 0.0


def read_shop_files(paths: Iterable[Path]) -> Iterator[tuple[Path, int, Any, str | None]]:
    """Yield (file, line number, parsed record or None, parse error or None) for each line."""
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield path, number, orjson.loads(line), None
                except orjson.JSONDecodeError as exc:
                    yield path, number, None, f"not JSON: {exc.msg} at column {exc.colno}"


def _producer(cfg: LabConfig) -> Producer:
    return Producer(client_config(cfg, "primary", "shop-publisher", **{
        "acks": "all", "enable.idempotence": True, "linger.ms": 20,
        "batch.size": 1_000_000, "compression.type": "lz4",
        "queue.buffering.max.messages": 500_000}))


def publish_files(cfg: LabConfig, paths: list[Path], progress: bool = True) -> PublishResult:
    """Validate and publish every record of ``paths`` to ``shop-raw``; never raises per record.

    Returns the counts (sent, skipped as invalid, failed on delivery) and each problem.
    """
    topic = cfg.topics.shop_raw
    serializer = AvroSerializer(registry_client(cfg), schema_text(),
                                conf={"auto.register.schemas": False})
    context = SerializationContext(topic, MessageField.VALUE)
    producer = _producer(cfg)
    result = PublishResult()

    def delivered(err: KafkaError | None, msg: Any) -> None:
        if err is None:
            result.sent += 1
        else:
            result.failed += 1
            key = msg.key().decode() if msg.key() else "?"
            result.problems.append(PublishProblem("-", 0, f"product {key}: {err.str()}"))

    total = sum(1 for path in paths for line in path.open(encoding="utf-8") if line.strip())
    started = time.perf_counter()
    with tqdm(total=total, desc="publishing", unit="product", disable=not progress) as bar:
        for path, number, record, error in read_shop_files(paths):
            reasons = [error] if error else validate_product(record)
            if reasons:
                result.skipped += 1
                result.problems.append(PublishProblem(path.name, number, "; ".join(reasons)))
            else:
                _send(producer, topic, record, serializer(record, context), delivered)
            bar.update(1)
        producer.flush(60)
    result.seconds = time.perf_counter() - started
    return result


def _send(producer: Producer, topic: str, record: dict[str, Any], value: bytes | None,
          delivered: Any) -> None:
    while True:
        try:
            producer.produce(topic, value, str(record["product_id"]).encode(),
                             on_delivery=delivered)
            producer.poll(0)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.1)
