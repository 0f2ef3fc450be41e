"""The compacted ``ban-words`` topic: the only source of truth of the ban list.

Record key: the normalized word or phrase (as the design says), or ``product_id:<id>`` /
``sku:<sku>`` for exact bans, so a tombstone names exactly one entry. Value: JSON
``{term, kind, added_at, source}``; a tombstone (null value) deletes the entry.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from pokupai_lib.ban_rules import BanKind, BanList, normalize_term
from pokupai_lib.clients import client_config
from pokupai_lib.config import LabConfig
from pokupai_lib.topic_reader import end_offsets, is_partition_eof

__all__ = ["BanEntry", "BanTopic", "apply_ban_record", "ban_key", "entries_view", "parse_ban_key"]

_KINDS: tuple[BanKind, ...] = ("word", "product_id", "sku")


@dataclass(frozen=True)
class BanEntry:
    """One entry of the ban list as stored in the topic."""

    term: str
    kind: BanKind
    added_at: str
    source: str


def _canonical(term: str, kind: BanKind) -> str:
    return normalize_term(term) if kind == "word" else term.strip()


def ban_key(term: str, kind: BanKind) -> str:
    """The record key of an entry; raises ValueError for an empty term."""
    canonical = _canonical(term, kind)
    if not canonical:
        raise ValueError("the term is empty")
    return canonical if kind == "word" else f"{kind}:{canonical}"


def parse_ban_key(key: str) -> tuple[str, BanKind]:
    """The (term, kind) a record key stands for."""
    exact: tuple[BanKind, ...] = ("product_id", "sku")
    for kind in exact:
        prefix = f"{kind}:"
        if key.startswith(prefix):
            return key[len(prefix):], kind
    return key, "word"


def apply_ban_record(bans: BanList, key: bytes | None, value: bytes | None) -> str | None:
    """Apply one ``ban-words`` record to ``bans``; return a reason when it was unusable."""
    if key is None:
        return "record without key"
    term, kind = parse_ban_key(key.decode("utf-8", errors="replace"))
    if value is None:
        bans.remove(term, kind)
        return None
    try:
        entry = json.loads(value)
        kind = entry.get("kind", kind)
        if kind not in _KINDS:
            return f"unknown kind {kind!r}"
        bans.add(str(entry.get("term", term)), kind)
    except (ValueError, AttributeError) as exc:
        return f"unreadable ban entry {value[:80]!r}: {exc}"
    return None


class BanTopic:
    """Writes entries and tombstones to ``ban-words`` and reads the topic into a BanList."""

    def __init__(self, cfg: LabConfig, principal: str = "banwords-api") -> None:
        self.cfg = cfg
        self.topic = cfg.topics.ban_words
        self.principal = principal
        self._conf = client_config(cfg, "primary", principal)
        self._producer: Producer | None = None

    def _produce(self, key: str, value: bytes | None, timeout_s: float = 15.0) -> None:
        if self._producer is None:
            self._producer = Producer(self._conf | {"acks": "all", "enable.idempotence": True,
                                                    "linger.ms": 0})
        outcome: list[KafkaError | None] = []
        self._producer.produce(self.topic, value, key.encode(),
                               on_delivery=lambda err, _msg: outcome.append(err))
        self._producer.flush(timeout_s)
        if not outcome:
            raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT,
                                            f"ban-words write of {key!r} not confirmed"))
        if outcome[0] is not None:
            raise KafkaException(outcome[0])

    def add(self, term: str, kind: BanKind = "word", source: str = "api") -> BanEntry:
        """Write an entry (acks=all) and return it."""
        key = ban_key(term, kind)
        entry = BanEntry(term=_canonical(term, kind), kind=kind, source=source,
                         added_at=datetime.now(UTC).isoformat(timespec="seconds"))
        self._produce(key, json.dumps(entry.__dict__, ensure_ascii=False).encode())
        return entry

    def remove(self, term: str, kind: BanKind = "word") -> None:
        """Write a tombstone for the entry."""
        self._produce(ban_key(term, kind), None)

    def load(self, bans: BanList, timeout_s: float = 30.0) -> int:
        """Read the whole topic from the beginning into ``bans``; return records applied."""
        consumer = self._consumer()
        try:
            ends = self._end_offsets()
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in ends])
            applied, done = 0, {p for p, end in ends.items() if end == 0}
            deadline = time.monotonic() + timeout_s
            while len(done) < len(ends):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.topic} not read to its end in {timeout_s} s")
                msg = consumer.poll(0.5)
                if msg is None or is_partition_eof(msg):
                    continue
                apply_ban_record(bans, msg.key(), msg.value())
                applied += 1
                partition, offset = msg.partition() or 0, msg.offset() or 0
                if offset + 1 >= ends[partition]:
                    done.add(partition)
            return applied
        finally:
            consumer.close()

    def follow(self, bans: BanList, stop: threading.Event,
               on_error: Callable[[str], None] | None = None) -> threading.Thread:
        """Keep ``bans`` current from the topic's tail in a daemon thread until ``stop``."""

        def run() -> None:
            consumer = self._consumer()
            try:
                ends = self._end_offsets()
                consumer.assign([TopicPartition(self.topic, p, end) for p, end in ends.items()])
                while not stop.is_set():
                    msg = consumer.poll(0.2)
                    if msg is None or is_partition_eof(msg):
                        continue
                    problem = apply_ban_record(bans, msg.key(), msg.value())
                    if problem and on_error:
                        on_error(problem)
            finally:
                consumer.close()

        thread = threading.Thread(target=run, name="ban-words-follower", daemon=True)
        thread.start()
        return thread

    def _consumer(self) -> Consumer:
        return Consumer(self._conf | {"group.id": f"{self._conf['client.id']}.ban-view",
                                      "enable.auto.commit": False,
                                      "isolation.level": "read_committed"})

    def _end_offsets(self) -> dict[int, int]:
        return end_offsets(self.cfg, self.topic, "primary", self.principal)


def entries_view(bans: BanList) -> dict[str, list[str]]:
    """The ban list grouped by kind, for APIs and tables."""
    return {kind: bans.terms(kind) for kind in _KINDS}

