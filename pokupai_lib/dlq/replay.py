"""``pokupai dlq replay TOPIC``: re-drive dead letters to their original topics, exactly once.

A replay reads the letters of a dead-letter topic from the committed position of its own
consumer group (``pokupai-dlq-replay.<topic>``; from the beginning with ``from_beginning``)
up to the end offsets taken at its start, and in one transaction writes each re-drivable
letter's original record to its original topic and partition and commits the group's offsets
past every letter read. So a letter is re-driven once: a second replay starts after it, and a
replay that fails commits nothing. It runs as ``admin`` (a super user: it writes topics of
several principals) under a fixed transactional id per topic: a replay fences an unfinished
earlier one, and waits for its transaction to end, before it reads the committed position.

Letters not re-driven (:class:`~pokupai_lib.dlq.origins.Unredrivable`, or *superseded*: the
original product topic has a newer record of the key in its partition, which the old one would
overwrite; search events are never superseded) are passed over and counted by reason; their
offsets are committed too, so they are not met again (``from_beginning`` sees them again).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaException, Producer, TopicPartition

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.dlq.origins import (
    DlqTopic,
    Headers,
    Redrive,
    Unredrivable,
    dlq_topic,
    dlq_topics,
    redrive_of,
    superseded,
)
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.faults import send_offsets_within
from pokupai_lib.kafka.topic_reader import consume_range, end_offsets, read_range

__all__ = ["DeadLetter", "ReplayResult", "dlq_counts", "replay_dead_letters", "replay_group"]


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, headers as raw bytes."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass
class ReplayResult:
    """What a replay of ``topic`` did (or, with ``dry_run``, would do)."""

    topic: str
    dry_run: bool
    letters: int = 0
    redriven: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> list[str]:
        """One line per original topic re-driven to and per reason a letter was skipped."""
        verb = "would re-drive" if self.dry_run else "re-drove"
        lines = [f"{self.topic}: {self.letters} dead letter(s) read"]
        lines += [f"  {verb} {n} to {topic}" for topic, n in sorted(self.redriven.items())]
        lines += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        return lines


def replay_group(topic: str) -> str:
    """The consumer group whose committed offsets say how far ``topic`` was replayed."""
    return f"pokupai-dlq-replay.{topic}"


def _consumer(cfg: LabConfig, spec: DlqTopic) -> Consumer:
    return Consumer(client_config(cfg, spec.cluster, "admin", **{
        "group.id": replay_group(spec.name), "enable.auto.commit": False,
        "isolation.level": "read_committed", "enable.partition.eof": True}))


def _start(consumer: Consumer, topic: str, ends: dict[int, int], from_beginning: bool,
           timeout_s: float) -> dict[int, int]:
    if from_beginning:
        return dict.fromkeys(ends, 0)
    committed = consumer.committed([TopicPartition(topic, p) for p in ends], timeout=timeout_s)
    return {tp.partition: 0 if tp.offset == OFFSET_INVALID else tp.offset for tp in committed}


def _read_letters(consumer: Consumer, topic: str, start: dict[int, int],
                  ends: dict[int, int], timeout_s: float) -> list[DeadLetter]:
    """The letters of ``topic`` from ``start`` to ``ends``, with their raw headers (read_range
    gives headers as text)."""
    return consume_range(consumer, topic, start, ends, timeout_s, what=topic,
                         convert=lambda msg: DeadLetter(msg.partition() or 0, msg.offset() or 0,
                                                        msg.key(), msg.value(),
                                                        list(msg.headers() or [])))


def _versioned_topics(cfg: LabConfig) -> set[str]:
    """The topics whose records are versions of a product (by key). Records of the others
    (search events) are each their own event: a later one supersedes nothing."""
    return {cfg.topics.shop_raw, cfg.topics.shop_clear,
            cfg.mirror.remote_topic(cfg.topics.shop_clear)}


def _newest(cfg: LabConfig, cluster: ClusterName, redrives: list[Redrive]
            ) -> dict[tuple[str, int, bytes | None], int]:
    """(topic, partition, key) → the key's last offset there, for the records of the original
    product topics after the oldest re-drivable letter of each partition."""
    first: dict[str, dict[int, int]] = {}
    versioned = _versioned_topics(cfg)
    for r in redrives:
        if r.topic in versioned and r.partition is not None and r.source_offset is not None:
            per_topic = first.setdefault(r.topic, {})
            per_topic[r.partition] = min(per_topic.get(r.partition, r.source_offset),
                                         r.source_offset)
    newest: dict[tuple[str, int, bytes | None], int] = {}
    for topic, oldest in first.items():
        ends = end_offsets(cfg, topic, cluster)
        start = {p: oldest[p] + 1 if p in oldest else end for p, end in ends.items()}
        for record in read_range(cfg, topic, start, cluster=cluster):
            newest[(topic, record.partition, record.key)] = record.offset
    return newest


def _redrive(cfg: LabConfig, consumer: Consumer, producer: Producer,
             redrives: list[Redrive], offsets: list[TopicPartition]) -> None:
    """One transaction: the original records and the replay group's offsets."""
    timeout_s = cfg.timeouts.kafka_call_s
    producer.begin_transaction()
    try:
        for r in redrives:
            where = {} if r.partition is None else {"partition": r.partition}
            producer.produce(r.topic, r.value, r.key, headers=r.headers, **where)
        send_offsets_within(producer.send_offsets_to_transaction, offsets,
                            consumer.consumer_group_metadata(), timeout_s)
        producer.commit_transaction(timeout_s)
    except BaseException:
        with contextlib.suppress(KafkaException):  # the first error is the one to report
            producer.abort_transaction(timeout_s)
        raise


def replay_dead_letters(cfg: LabConfig, topic: str, dry_run: bool = False,
                        from_beginning: bool = False) -> ReplayResult:
    """Re-drive the dead letters of ``topic`` not replayed yet (see the module docstring).

    Parameters:
        cfg: the lab configuration.
        topic: one of the lab's dead-letter topics (:func:`~pokupai_lib.dlq.origins.dlq_topics`).
        dry_run: read and count, write and commit nothing.
        from_beginning: read every letter, not only those after the group's committed offsets.

    Raises:
        InvalidInputError: ``topic`` is not a dead-letter topic of the lab.
        KafkaException: the cluster refused the transaction (nothing was re-driven).
        LabTimeoutError: the letters could not be read in ``cfg.timeouts.read_s``.
    """
    spec = dlq_topic(cfg, topic)
    timeout_s = cfg.timeouts.kafka_call_s
    producer = None
    if not dry_run:
        producer = Producer(client_config(cfg, spec.cluster, "admin", **{
            "transactional.id": f"{replay_group(topic)}-0", "acks": "all",
            "enable.idempotence": True}))
        producer.init_transactions(timeout_s)  # before the position is read: see the docstring
    consumer = _consumer(cfg, spec)
    try:
        ends = end_offsets(cfg, topic, spec.cluster)
        start = _start(consumer, topic, ends, from_beginning, timeout_s)
        letters = _read_letters(consumer, topic, start, ends, cfg.timeouts.read_s)
        result = ReplayResult(topic, dry_run, len(letters))
        plans = [redrive_of(spec.kind, d.key, d.value, d.headers) for d in letters]
        candidates = [plan for plan in plans if isinstance(plan, Redrive)]
        newest = _newest(cfg, spec.cluster, candidates) if candidates else {}
        redrives = []
        for plan in plans:
            if isinstance(plan, Unredrivable):
                result.skipped[plan.reason] += 1
            elif superseded(plan, newest):
                result.skipped["superseded: its key has a newer record in "
                               f"{plan.topic}[{plan.partition}]"] += 1
            else:
                redrives.append(plan)
                result.redriven[plan.topic] += 1
        offsets = [TopicPartition(topic, p, end) for p, end in ends.items()
                   if start.get(p, 0) < end]
        if producer is not None and offsets:
            _redrive(cfg, consumer, producer, redrives, offsets)
    finally:
        consumer.close()
    return result


def dlq_counts(cfg: LabConfig) -> dict[str, tuple[int, int]]:
    """Each dead-letter topic of the lab → (letters it holds, letters not replayed yet: after
    its replay group's committed offsets)."""
    counts = {}
    for spec in dlq_topics(cfg):
        consumer = _consumer(cfg, spec)
        try:
            ends = end_offsets(cfg, spec.name, spec.cluster)
            every = _read_letters(consumer, spec.name, dict.fromkeys(ends, 0), ends,
                                  cfg.timeouts.read_s)
            start = _start(consumer, spec.name, ends, False, cfg.timeouts.kafka_call_s)
            counts[spec.name] = (len(every),
                                 sum(d.offset >= start.get(d.partition, 0) for d in every))
        finally:
            consumer.close()
    return counts
