"""The compacted ``ban-words`` topic: the only source of truth of the ban list.

Record key: the normalized word or phrase (as the design says), or ``product_id:<id>`` /
``sku:<sku>`` for exact bans, so a tombstone names exactly one entry. Value: JSON
``{term, kind, added_at, source}``; a tombstone (null value) deletes the entry.

The ban-words API writes in transactions (see :mod:`pokupai_lib.bans.writer`), so every reader
here is read_committed and reads "to the end" by end-of-partition events, not by offsets:
commit markers occupy offsets that no record will ever have.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from pokupai_lib.bans.rules import BanKind, BanList, normalize_term
from pokupai_lib.config import LabConfig, Principal
from pokupai_lib.errors import InvalidInputError
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.topic_reader import ReadProgress, end_offsets
from pokupai_lib.runtime.wait import wait_until

__all__ = ["BanEntry", "BanRecord", "BanTopic", "apply_ban_record", "ban_entry", "ban_key",
           "entries_view", "entry_record", "parse_ban_key", "tombstone_record"]

_KINDS: tuple[BanKind, ...] = ("word", "product_id", "sku")
_RETRY_BACKOFF_S = (0.5, 10.0)  # first and longest wait after a transient consumer error

BanRecord = tuple[str, bytes | None]
"""A ``ban-words`` record as (key, value); a None value is a tombstone."""


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
    """The record key of an entry; raises InvalidInputError for an empty term."""
    canonical = _canonical(term, kind)
    if not canonical:
        raise InvalidInputError("the term is empty")
    return canonical if kind == "word" else f"{kind}:{canonical}"


def ban_entry(term: str, kind: BanKind, source: str) -> BanEntry:
    """The entry for ``term``, stamped now; raises InvalidInputError for an empty term."""
    ban_key(term, kind)
    return BanEntry(term=_canonical(term, kind), kind=kind, source=source,
                    added_at=datetime.now(UTC).isoformat(timespec="seconds"))


def entry_record(entry: BanEntry) -> BanRecord:
    """The record that stores ``entry``."""
    value = json.dumps(asdict(entry), ensure_ascii=False).encode()
    return ban_key(entry.term, entry.kind), value


def tombstone_record(term: str, kind: BanKind) -> BanRecord:
    """The record that deletes the entry of ``term``; raises InvalidInputError for an empty term."""
    return ban_key(term, kind), None


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

    def __init__(self, cfg: LabConfig, principal: Principal = "banwords-api") -> None:
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
        """Write an entry (acks=all, not transactional) and return it."""
        entry = ban_entry(term, kind, source)
        self._produce(*entry_record(entry))
        return entry

    def remove(self, term: str, kind: BanKind = "word") -> None:
        """Write a tombstone for the entry (acks=all, not transactional)."""
        self._produce(*tombstone_record(term, kind))

    def load(self, bans: BanList, timeout_s: float | None = None) -> int:
        """Read the whole topic from the beginning into ``bans``; return records applied.

        Raises:
            LabTimeoutError: the topic was not read to its end within ``timeout_s``.
            KafkaException: a fatal consumer error.
        """
        timeout_s = self.cfg.timeouts.read_s if timeout_s is None else timeout_s
        consumer = self._consumer()
        try:
            return self._read_to_end(consumer, bans, timeout_s)
        finally:
            consumer.close()

    def load_and_follow(self, bans: BanList, stop: threading.Event,
                        on_error: Callable[[str], None],
                        on_death: Callable[[BaseException], None],
                        timeout_s: float | None = None) -> threading.Thread:
        """Load the whole topic into ``bans``, then keep it current in a daemon thread.

        The follower goes on with the consumer that loaded, from exactly where the load
        ended, so no entry written in between is missed. It runs until ``stop`` is set.

        Args:
            bans: the list to fill and keep current.
            stop: set it to end the follower.
            on_error: told (from the follower thread) of an unusable record and of a transient
                Kafka error, which is retried with backoff.
            on_death: called once, from the follower thread, with the exception that ended
                it (a fatal Kafka error or a bug); the list is no longer kept current.
            timeout_s: how long the load may take.

        Returns:
            The started follower thread.

        Raises:
            LabTimeoutError: the load did not reach the end within ``timeout_s``.
            KafkaException: a fatal consumer error during the load.
        """
        timeout_s = self.cfg.timeouts.read_s if timeout_s is None else timeout_s
        consumer = self._consumer()
        try:
            self._read_to_end(consumer, bans, timeout_s)
        except BaseException:
            consumer.close()
            raise
        thread = threading.Thread(target=self._follow_until_stopped, name="ban-words-follower",
                                  args=(consumer, bans, stop, on_error, on_death), daemon=True)
        thread.start()
        return thread

    def _read_to_end(self, consumer: Consumer, bans: BanList, timeout_s: float) -> int:
        """Assign ``consumer`` from the beginning and apply records until every partition is
        at its end; the consumer stays positioned there. Return the records applied."""
        ends = self._end_offsets()
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in ends])
        progress = ReadProgress(ends)
        applied = 0

        def apply_one() -> ReadProgress:
            nonlocal applied
            msg = None if progress.done else consumer.poll(0.5)
            if msg is None:
                return progress
            partition, error = msg.partition() or 0, msg.error()
            if error is None:
                apply_ban_record(bans, msg.key(), msg.value())
                applied += 1
                progress.saw(partition, msg.offset() or 0)
            elif error.code() == KafkaError._PARTITION_EOF:
                progress.reached_eof(partition)
            else:
                raise KafkaException(error)
            return progress

        # a transient error (a broker restarting): librdkafka retries, the deadline bounds it
        wait_until(apply_one, until=lambda p: p.done, timeout_s=timeout_s, every_s=0,
                   what=f"{self.topic} read to its end", ignore=_transient)
        return applied

    def _follow_until_stopped(self, consumer: Consumer, bans: BanList, stop: threading.Event,
                              on_error: Callable[[str], None],
                              on_death: Callable[[BaseException], None]) -> None:
        failure: BaseException | None = None
        try:
            _follow(consumer, bans, stop, on_error)
        except Exception as exc:  # noqa: BLE001 - whatever ends the follower goes to on_death
            failure = exc
        finally:
            consumer.close()
        if failure is not None:
            on_death(failure)

    def _consumer(self) -> Consumer:
        return Consumer(self._conf | {"group.id": f"{self._conf['client.id']}.ban-view",
                                      "enable.auto.commit": False,
                                      "enable.partition.eof": True,
                                      # compaction never moves the log start of ban-words; if
                                      # something does, re-reading it all is still correct.
                                      "auto.offset.reset": "earliest",
                                      "isolation.level": "read_committed"})

    def _end_offsets(self) -> dict[int, int]:
        return end_offsets(self.cfg, self.topic, "primary", self.principal)


def _transient(exc: Exception) -> bool:
    """A consumer error worth waiting through while loading: anything but a fatal one."""
    return isinstance(exc, KafkaException) and not exc.args[0].fatal()


def _follow(consumer: Consumer, bans: BanList, stop: threading.Event,
            on_error: Callable[[str], None]) -> None:
    """Apply records from ``consumer``'s positions until ``stop``; raise on a fatal error."""
    failures = 0
    while not stop.is_set():
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        error = msg.error()
        if error is None:
            failures = 0
            problem = apply_ban_record(bans, msg.key(), msg.value())
            if problem:
                on_error(problem)
        elif error.fatal():
            raise KafkaException(error)
        elif error.code() != KafkaError._PARTITION_EOF:
            first, longest = _RETRY_BACKOFF_S
            delay = min(first * 2 ** min(failures, 8), longest)
            failures += 1
            on_error(f"{error.str()}; retrying in {delay:g} s")
            stop.wait(delay)


def entries_view(bans: BanList) -> dict[str, list[str]]:
    """The ban list grouped by kind, for APIs and tables."""
    return {kind: bans.terms(kind) for kind in _KINDS}

