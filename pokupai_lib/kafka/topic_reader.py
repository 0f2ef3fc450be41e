"""Reading topics back for checks and tables: end offsets, ranges, latest value per key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from pokupai_lib.config import ClusterName, LabConfig, Principal
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.faults import kafka_error, leadership_moving
from pokupai_lib.runtime.wait import wait_until

T = TypeVar("T")

__all__ = ["ReadProgress", "Record", "consume_range", "end_offsets", "is_partition_eof",
           "latest_by_key", "read_converted", "read_range"]


@dataclass(frozen=True)
class Record:
    """One record as read back."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    timestamp_ms: int


@dataclass
class ReadProgress:
    """Which partitions a reader still has to read to reach the end offsets taken at its start.

    With transactions the last offsets of a partition can be commit or abort markers, or the
    records of an aborted transaction, that a read_committed reader never receives: a partition
    is done when a record reaches its end offset or when the end-of-partition event comes,
    never by waiting for a record at ``end - 1``.
    """

    ends: dict[int, int]
    pending: set[int] = field(init=False)

    def __post_init__(self) -> None:
        self.pending = {p for p, end in self.ends.items() if end > 0}

    def saw(self, partition: int, offset: int) -> None:
        """A record at ``offset`` of ``partition`` was read."""
        if offset + 1 >= self.ends.get(partition, 0):
            self.pending.discard(partition)

    def reached_eof(self, partition: int) -> None:
        """The end-of-partition event came: nothing committed is left to read there."""
        self.pending.discard(partition)

    @property
    def done(self) -> bool:
        """Every partition is read to its end."""
        return not self.pending


def _consumer(cfg: LabConfig, cluster: ClusterName, principal: Principal) -> Consumer:
    return Consumer(client_config(cfg, cluster, principal, **{
        "group.id": f"{principal}.reader", "enable.auto.commit": False,
        "isolation.level": "read_committed", "enable.partition.eof": True}))


def end_offsets(cfg: LabConfig, topic: str, cluster: ClusterName = "primary",
                principal: Principal = "admin", attempts: int = 8) -> dict[int, int]:
    """The next offset of every partition of ``topic`` (read_committed: the stable end).
    NOT_LEADER while leadership moves is retried with a new consumer: librdkafka neither
    retries this call nor refreshes the stale leader it asked."""
    retrying = Retrying(
        stop=stop_after_attempt(attempts), wait=wait_exponential(multiplier=0.5, max=4.0),
        retry=retry_if_exception(_leadership_moving), reraise=True)
    return retrying(_end_offsets_once, cfg, topic, cluster, principal)


def _leadership_moving(exc: BaseException) -> bool:
    error = kafka_error(exc)
    return error is not None and leadership_moving(error)


def _end_offsets_once(cfg: LabConfig, topic: str, cluster: ClusterName,
                      principal: Principal) -> dict[int, int]:
    consumer = _consumer(cfg, cluster, principal)
    timeout_s = cfg.timeouts.kafka_call_s
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        return {p: int(consumer.get_watermark_offsets(TopicPartition(topic, p),
                                                      timeout=timeout_s)[1])
                for p in meta.partitions}
    finally:
        consumer.close()


_BATCH = 1000


def read_range(cfg: LabConfig, topic: str, start: dict[int, int] | None = None,
               cluster: ClusterName = "primary", principal: Principal = "admin",
               timeout_s: float | None = None) -> list[Record]:
    """Every committed record of ``topic`` from ``start`` (default: the beginning) to its end.

    Raises LabTimeoutError naming the partitions not read to their end in ``timeout_s``.
    """
    return read_converted(cfg, topic, lambda msg: Record(
        msg.partition() or 0, msg.offset() or 0, msg.key(), msg.value(),
        _headers(msg.headers()), msg.timestamp()[1]), start, cluster, principal, timeout_s)


def read_converted(cfg: LabConfig, topic: str, convert: Callable[[Message], T],
                   start: dict[int, int] | None = None, cluster: ClusterName = "primary",
                   principal: Principal = "admin", timeout_s: float | None = None) -> list[T]:
    """:func:`read_range`, keeping only what ``convert`` makes of each message (a large
    topic read into a state need not be held twice)."""
    timeout_s = cfg.timeouts.read_s if timeout_s is None else timeout_s
    ends = end_offsets(cfg, topic, cluster, principal)
    begin = {p: (start or {}).get(p, 0) for p in ends}
    consumer = _consumer(cfg, cluster, principal)
    try:
        return consume_range(consumer, topic, begin, ends, timeout_s, what=f"{topic} ({cluster})",
                             convert=convert)
    finally:
        consumer.close()


def consume_range(consumer: Consumer, topic: str, begin: dict[int, int], ends: dict[int, int],
                  timeout_s: float, what: str, convert: Callable[[Message], T]) -> list[T]:
    """Assign ``consumer`` (made with partition EOF events) to ``topic`` from ``begin`` and
    read every record below ``ends``, each turned into a value by ``convert``.

    Raises LabTimeoutError naming the partitions not read to their end in ``timeout_s``.
    """
    progress = ReadProgress({p: end for p, end in ends.items() if begin.get(p, 0) < end})
    records: list[T] = []

    def read_batch() -> ReadProgress:
        # a batch per check, not a message: the wait's own cost stays out of a long read
        for msg in [] if progress.done else consumer.consume(_BATCH, timeout=0.5):
            partition = msg.partition() or 0
            if is_partition_eof(msg):
                progress.reached_eof(partition)
                continue
            offset = msg.offset() or 0
            if offset < ends[partition]:
                records.append(convert(msg))
            progress.saw(partition, offset)
        return progress

    consumer.assign([TopicPartition(topic, p, begin.get(p, 0)) for p in ends])
    wait_until(read_batch, until=lambda p: p.done, timeout_s=timeout_s, every_s=0,
               what=f"{what} read to the end offsets {ends} from {begin}")
    return records


def is_partition_eof(msg: Message) -> bool:
    """True for the end-of-partition event; raise any other error the message carries."""
    error = msg.error()
    if error is None:
        return False
    if error.code() == KafkaError._PARTITION_EOF:
        return True
    raise KafkaException(error)


def _headers(raw: Any) -> dict[str, str]:
    return {k: (v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v))
            for k, v in (raw or [])}


def latest_by_key(records: list[Record]) -> dict[bytes, bytes | None]:
    """What compaction keeps: the last value of each key (None for a tombstone)."""
    latest: dict[bytes, bytes | None] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        if record.key is not None:
            latest[record.key] = record.value
    return latest
