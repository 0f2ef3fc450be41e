"""The shop publisher: JSON Lines files from the shops → Avro records in ``shop-raw``.

Each line is read as UTF-8 JSON and validated against the product schema first; a line that
is not UTF-8, not JSON or not a valid product is reported with its file, line and reason and
skipped, never sent, and the rest of the file is published. Sending is as ``shop-publisher``
with an idempotent producer and acks=all, keyed by product_id, serialized by confluent-kafka's
``AvroSerializer`` against the registry (the schema must already be registered).

Every record sent is accounted for: it is delivered, or it failed with a reason, including
records still queued when the final flush times out (they are purged, then counted as failed).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from tqdm.auto import tqdm

from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.schema.product import schema_text, validate_product
from pokupai_lib.schema.registry import registry_client

__all__ = ["DeliveryLedger", "PublishProblem", "PublishResult", "publish_files",
           "read_shop_files", "send_shop_files"]

DeliveryCallback = Callable[[KafkaError | None, Any], None]
Serialize = Callable[[dict[str, Any]], bytes | None]


@dataclass(frozen=True)
class PublishProblem:
    """A line that was skipped or a record that was not delivered, where it came from, and why."""

    file: str
    line: int
    reason: str


@dataclass
class PublishResult:
    """What one publish run did: counts, the problems, and its speed.

    ``delivered`` records were acknowledged by the cluster, ``skipped`` lines were never sent
    (unreadable or invalid), ``failed`` records were sent but not delivered. ``problems`` has
    one entry per skipped or failed record; ``failure_reasons`` counts the failed ones by
    reason.
    """

    delivered: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    problems: list[PublishProblem] = field(default_factory=list)
    failure_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        """The records delivered (the name earlier callers use for ``delivered``)."""
        return self.delivered

    @property
    def rate(self) -> float:
        """Products delivered per second."""
        return self.delivered / self.seconds if self.seconds else 0.0

    def undelivered_summary(self) -> str | None:
        """One line saying how many records were not delivered and why; None if all were."""
        if not self.failed:
            return None
        reasons = self.failure_reasons
        why = "; ".join(f"{reason} ({count})" for reason, count in reasons.most_common(3))
        if len(reasons) > 3:
            why += f"; and {len(reasons) - 3} other reasons"
        return f"{self.failed} records not delivered: {why}"


class DeliveryLedger:
    """Every record sent, by file and line, until its delivery report settles it.

    Pure bookkeeping (no Kafka calls), so the accounting is testable without a broker.
    """

    def __init__(self, result: PublishResult) -> None:
        """Count deliveries and failures into ``result``."""
        self._result = result
        self._pending: dict[int, tuple[str, int]] = {}
        self._tickets = itertools.count()
        self._expired: str | None = None

    @property
    def pending(self) -> int:
        """Records sent whose delivery report has not come yet."""
        return len(self._pending)

    def expect(self, file: str, line: int) -> DeliveryCallback:
        """Register a record about to be sent; return its ``on_delivery`` callback."""
        ticket = next(self._tickets)
        self._pending[ticket] = (file, line)
        return partial(self._settle, ticket)

    def _settle(self, ticket: int, error: KafkaError | None, _msg: Any) -> None:
        file, line = self._pending.pop(ticket)
        if error is None:
            self._result.delivered += 1
        elif self._expired and error.code() == KafkaError._PURGE_QUEUE:
            self._fail(file, line, self._expired)
        elif self._expired and error.code() == KafkaError._PURGE_INFLIGHT:
            self._fail(file, line, f"{self._expired} (in flight: the broker may have it)")
        else:
            self._fail(file, line, error.str())

    def expire(self, reason: str) -> None:
        """From now on a purged record fails for ``reason`` (e.g. "not delivered within 60 s")."""
        self._expired = reason

    def give_up(self, reason: str) -> None:
        """Count every record still without a delivery report as failed, for ``reason``."""
        for file, line in self._pending.values():
            self._fail(file, line, reason)
        self._pending.clear()

    def _fail(self, file: str, line: int, reason: str) -> None:
        self._result.failed += 1
        self._result.failure_reasons[reason] += 1
        self._result.problems.append(PublishProblem(file, line, reason))


def read_shop_files(paths: Iterable[Path]) -> Iterator[tuple[Path, int, Any, str | None]]:
    """Yield (file, line number, parsed record or None, reason or None) for each non-blank line.

    A line that is not valid UTF-8 or not valid JSON gives a None record and the reason; the
    lines after it are read as usual.
    """
    for path in paths:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield path, number, *_parse_line(raw)


def _parse_line(raw: bytes) -> tuple[Any, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}"
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at column {exc.colno}"


def _count_lines(paths: Iterable[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(1 for raw in handle if raw.strip())
    return total


def _producer(cfg: LabConfig) -> Producer:
    return Producer(client_config(cfg, "primary", "shop-publisher", **{
        "acks": "all", "enable.idempotence": True, "linger.ms": 20,
        "batch.size": 1_000_000, "compression.type": "lz4",
        "queue.buffering.max.messages": 500_000}))


def publish_files(cfg: LabConfig, paths: list[Path], progress: bool = True,
                  flush_timeout_s: float = 60.0) -> PublishResult:
    """Validate and publish every record of ``paths`` to ``shop-raw``; never raises per record.

    Args:
        cfg: the lab configuration (cluster, registry, topic).
        paths: JSON Lines files, one product per line.
        progress: show a progress bar.
        flush_timeout_s: how long to wait for the last deliveries; what is still queued then
            is counted as failed.

    Returns:
        The counts (delivered, skipped as unreadable or invalid, failed on delivery) and each
        problem with its file and line.
    """
    topic = cfg.topics.shop_raw
    serializer = AvroSerializer(registry_client(cfg), schema_text(),
                                conf={"auto.register.schemas": False})
    context = SerializationContext(topic, MessageField.VALUE)
    return send_shop_files(_producer(cfg), topic, lambda record: serializer(record, context),
                           paths, progress=progress, flush_timeout_s=flush_timeout_s)


def send_shop_files(producer: Producer, topic: str, serialize: Serialize, paths: list[Path],
                    *, progress: bool = False, flush_timeout_s: float = 60.0) -> PublishResult:
    """Read, validate, serialize and send every line of ``paths`` with ``producer``.

    The part of :func:`publish_files` that needs no registry: any producer, any serializer.
    Returns the same accounting as :func:`publish_files`.
    """
    result = PublishResult()
    ledger = DeliveryLedger(result)
    started = time.perf_counter()
    with tqdm(total=_count_lines(paths), desc="publishing", unit="product",
              disable=not progress) as bar:
        for path, number, record, error in read_shop_files(paths):
            reasons = [error] if error else validate_product(record)
            if reasons:
                result.skipped += 1
                result.problems.append(PublishProblem(path.name, number, "; ".join(reasons)))
            else:
                on_delivery = ledger.expect(path.name, number)
                try:
                    _send(producer, topic, str(record["product_id"]).encode(),
                          serialize(record), on_delivery)
                except KafkaException as exc:  # refused locally, e.g. a record over the size limit
                    on_delivery(exc.args[0], None)
            bar.update(1)
        _settle_all(producer, ledger, flush_timeout_s)
    result.seconds = time.perf_counter() - started
    return result


def _settle_all(producer: Producer, ledger: DeliveryLedger, timeout_s: float) -> None:
    """Wait for the delivery reports; what is still queued after ``timeout_s`` is failed."""
    reason = f"not delivered within {timeout_s:g} s"
    if producer.flush(timeout_s) > 0:
        # A purged record is never sent later, so counting it as failed stays true; its
        # delivery report (Local: Purged) comes on the next poll.
        ledger.expire(reason)
        producer.purge()
        producer.flush(0)
    ledger.give_up(reason)


def _send(producer: Producer, topic: str, key: bytes, value: bytes | None,
          on_delivery: DeliveryCallback) -> None:
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=on_delivery)
            producer.poll(0)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.1)
