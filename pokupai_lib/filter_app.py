"""The ban filter: ``shop-raw`` (Avro) → ``shop-clear`` (JSON), exactly once, as ``filter``.

Each batch is one Kafka transaction holding the allowed products, the tombstones of banned
ones, the dead letters and the consumed offsets: a ``kill -9`` at any moment leaves either the
whole batch or none of it, and the restarted filter (same transactional id, which fences the
old one) resumes from the last committed offsets. Run it with ``python -m pokupai_lib.filter_app``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import SerializationError

from pokupai_lib.ban_rules import BanList
from pokupai_lib.ban_topic import BanTopic
from pokupai_lib.clients import client_config
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.filter_stats import FilterStats
from pokupai_lib.product_schema import validate_decoded_product
from pokupai_lib.registry import registry_client
from pokupai_lib.stats_http import serve_stats
from pokupai_lib.topic_reader import is_partition_eof

__all__ = ["DeadLetter", "FilterLoop", "Verdict", "main"]

log = logging.getLogger("pokupai_lib.filter")


@dataclass(frozen=True)
class DeadLetter:
    """Why a record could not be processed."""

    error_type: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """What the filter does with one record: pass it, ban it, or dead-letter it."""

    product: dict[str, Any] | None = None
    banned_rule: str | None = None
    banned_term: str | None = None
    dead_letter: DeadLetter | None = None


class RegistryUnavailable(Exception):
    """The registry did not answer; the batch is retried, not dead-lettered."""


class FilterLoop:
    """Consume, judge, produce and commit in transactions until asked to stop."""

    def __init__(self, cfg: LabConfig, stats: FilterStats) -> None:
        self.cfg = cfg
        self.stats = stats
        self.stop = threading.Event()
        self.bans = BanList()
        self._gauges_at = 0.0
        self._deserialize = AvroDeserializer(registry_client(cfg))
        conf = client_config(cfg, "primary", "filter")
        self.consumer = Consumer(conf | {
            "group.id": cfg.filter.group_id, "enable.auto.commit": False,
            # Static membership: a restarted filter takes its predecessor's place at once
            # instead of waiting for the dead member's session to time out.
            "group.instance.id": cfg.filter.transactional_id, "session.timeout.ms": 10_000,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest",
            "fetch.min.bytes": 1, "queued.min.messages": 20_000})
        self.producer = Producer(conf | {
            "transactional.id": cfg.filter.transactional_id, "acks": "all",
            "enable.idempotence": True, "linger.ms": 5, "compression.type": "lz4",
            "batch.size": 1_000_000, "queue.buffering.max.messages": 200_000})

    def judge(self, msg: Message) -> Verdict:
        """The verdict for one ``shop-raw`` record."""
        try:
            # No SerializationContext: the writer's schema id still resolves through the
            # registry, but the data-contract rule machinery (unused here) is skipped; it cost
            # half of the deserialization time in profiles.
            product = self._deserialize(msg.value(), None)
        except SchemaRegistryError as exc:
            if exc.http_status_code in (404, 422):
                return Verdict(dead_letter=DeadLetter("unknown-schema", str(exc)))
            raise RegistryUnavailable(str(exc)) from exc
        except (SerializationError, ValueError, EOFError, TypeError) as exc:
            return Verdict(dead_letter=DeadLetter("not-avro", str(exc) or type(exc).__name__))
        except Exception as exc:
            if "Connect" in type(exc).__name__ or "Timeout" in type(exc).__name__:
                raise RegistryUnavailable(str(exc)) from exc
            return Verdict(dead_letter=DeadLetter("undecodable", f"{type(exc).__name__}: {exc}"))
        if not isinstance(product, dict):
            return Verdict(dead_letter=DeadLetter("not-a-product", "value is not a record"))
        problems = validate_decoded_product(product)
        if problems:
            return Verdict(dead_letter=DeadLetter("invalid-product", "; ".join(problems)))
        match = self.bans.match(product)
        if match is not None:
            return Verdict(product=product, banned_rule=match.rule, banned_term=match.term)
        return Verdict(product=product)

    def _emit(self, msg: Message, verdict: Verdict, filtered_at: str) -> None:
        topics = self.cfg.topics
        if verdict.dead_letter is not None:
            headers: list[tuple[str, str | bytes | None]] = [
                ("error.type", verdict.dead_letter.error_type),
                ("error.message", verdict.dead_letter.message[:1000]),
                ("source.topic", msg.topic() or ""),
                ("source.partition", str(msg.partition())),
                ("source.offset", str(msg.offset()))]
            self.producer.produce(topics.shop_dlq, msg.value(), msg.key(), headers=headers)
            self.stats.record_dead_letter(verdict.dead_letter.error_type)
        elif verdict.banned_rule is not None:
            # A tombstone, so copies downstream drop a product that passed before.
            self.producer.produce(topics.shop_clear, None, msg.key())
            self.stats.record_banned(verdict.banned_rule, verdict.banned_term or "")
        else:
            product = dict(verdict.product or {})
            product["filtered_at"] = filtered_at
            self.producer.produce(topics.shop_clear, orjson.dumps(product), msg.key())

    def _process(self, batch: list[Message]) -> None:
        """One transaction: every record of ``batch`` plus the consumer's offsets."""
        self.producer.begin_transaction()
        passed = 0
        filtered_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        for msg in batch:
            verdict = self.judge(msg)
            self._emit(msg, verdict, filtered_at)
            passed += verdict.product is not None and verdict.banned_rule is None
        self.producer.send_offsets_to_transaction(
            self.consumer.position(self.consumer.assignment()),
            self.consumer.consumer_group_metadata())
        self.producer.commit_transaction()
        self.stats.record_processed(len(batch))
        self.stats.record_passed(passed)
        now = time.time()
        for msg in batch:
            self.stats.record_latency(max(0.0, now - msg.timestamp()[1] / 1000))

    def _rewind(self, batch: list[Message]) -> None:
        firsts: dict[int, int] = {}
        for msg in batch:
            firsts.setdefault(msg.partition() or 0, msg.offset() or 0)
        for partition, offset in firsts.items():
            self.consumer.seek(TopicPartition(self.cfg.topics.shop_raw, partition, offset))

    def _lag(self) -> int | None:
        """Records not yet processed, or None while the consumer has no partitions."""
        assignment = self.consumer.assignment()
        if not assignment:
            return None
        positions = self.consumer.position(assignment)
        unknown = [tp for tp in positions if tp.offset < 0]
        committed = {tp.partition: tp.offset
                     for tp in (self.consumer.committed(unknown, timeout=10) if unknown else [])}
        lag = 0
        for tp in positions:
            low, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:  # nothing fetched yet: ask the broker once
                low, high = self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            offset = tp.offset if tp.offset >= 0 else committed.get(tp.partition, -1)
            lag += max(0, high - (offset if offset >= 0 else low))
        return lag

    def _refresh_gauges(self) -> None:
        if time.monotonic() - self._gauges_at < 1.0:
            return
        self._gauges_at = time.monotonic()
        try:
            lag = self._lag()
        except KafkaException as exc:  # e.g. NOT_COORDINATOR while a broker restarts
            log.warning("lag not measured this time (the gauges keep their values): %s", exc)
            return
        self.stats.ready = lag is not None
        self.stats.set_gauges(-1 if lag is None else lag, len(self.bans))

    def run(self) -> None:
        """Load the ban list, follow it, and filter until ``stop`` is set."""
        topic = BanTopic(self.cfg, principal="filter")
        topic.load(self.bans)
        topic.follow(self.bans, self.stop, on_error=lambda p: log.warning("ban-words: %s", p))
        self.producer.init_transactions(60)
        self.consumer.subscribe([self.cfg.topics.shop_raw])
        log.info("filter started with %d ban entries", len(self.bans))
        while not self.stop.is_set():
            batch = [m for m in self.consumer.consume(self.cfg.filter.batch_size, 0.2)
                     if not is_partition_eof(m)]
            self._refresh_gauges()
            if not batch:
                continue
            try:
                self._process(batch)
            except RegistryUnavailable as exc:
                log.warning("registry unavailable, retrying the batch in 2 s: %s", exc)
                self.producer.abort_transaction()
                self._rewind(batch)
                time.sleep(2)
        self.consumer.close()


def main() -> None:
    """Entry point of the supervised filter process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = load_config()
    stats = FilterStats()
    serve_stats(stats, cfg.filter.host, cfg.filter.port, name="filter-stats")
    loop = FilterLoop(cfg, stats)
    signal.signal(signal.SIGTERM, lambda *_: loop.stop.set())
    signal.signal(signal.SIGINT, lambda *_: loop.stop.set())
    loop.run()


if __name__ == "__main__":
    main()
