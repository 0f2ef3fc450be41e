"""The ban filter: ``shop-raw`` (Avro) → ``shop-clear`` (JSON), exactly once, as ``filter``.

Each batch is one Kafka transaction holding the allowed products, the tombstones of banned
ones, the dead letters and the consumed offsets: a ``kill -9`` at any moment leaves either the
whole batch or none of it, and the restarted filter (same transactional id, which fences the
old one) resumes from the last committed offsets.

Faults, and what the filter does (see :mod:`pokupai_lib.ingest.verdicts` for the verdicts):

* a record it cannot handle, for a reason in the record: a dead letter in ``shop-dlq`` with
  the reason and source, in the same transaction; the filter goes on;
* a fault outside the record (registry down, brokers or coordinators moving, a transaction
  that fails, times out or is fenced after an outage): the batch is aborted, the consumer goes
  back to the committed offsets, and the batch is redone after a growing backoff; a fenced
  producer is replaced by a new one under the same transactional id;
* the group fences this consumer's static membership: within a minute of the process's start
  that is a real second instance with the same ids (a zombie): it exits with
  :data:`~pokupai_lib.runtime.exit_codes.ZOMBIE_EXIT_CODE`, saying so, and is not restarted;
  later it
  is an outage's doing, and the process exits for its keeper to start a fresh one;
* the loop stuck for ``watchdog_s`` (a librdkafka call outliving its timeout): the watchdog
  logs the stack and ends the process, and its keeper starts a fresh one;
* the judging child (:mod:`pokupai_lib.ingest.judge_worker`, which judges the next batch while
  this process writes the one before) dies or stops answering: a new child is started and the
  batch is redone; the child of a killed filter ends on its own;
* ``kill -9`` or any other crash: the supervisor's keeper starts it again.

Run it with ``python -m pokupai_lib.ingest.app``.
"""

from __future__ import annotations

import functools
import gc
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from pokupai_lib.bans.rules import BanKind, BanList
from pokupai_lib.bans.topic import BanTopic
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.errors import (
    ConsumerFenced,
    ConsumerStuck,
    ProducerLost,
    RecordRefused,
    RegistryUnavailable,
    ZombieError,
)
from pokupai_lib.ingest.decisions import Decision, decide, decisions_for_ban_changes
from pokupai_lib.ingest.judge_worker import JudgeWorker, JudgeWorkerLost
from pokupai_lib.ingest.moderation import (
    Moderation,
    ModerationState,
    decode_record,
    encode_moderation,
)
from pokupai_lib.ingest.stall import PartitionEnds, StallClock, Watchdog
from pokupai_lib.ingest.stats import FilterStats
from pokupai_lib.ingest.transactions import TransactionalWriter, filter_backoff
from pokupai_lib.ingest.verdicts import DeadLetter, Verdict, dead_letter_record
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.faults import (
    Fault,
    fault_of,
    is_fenced,
    is_record_fault,
    kafka_error,
)
from pokupai_lib.kafka.topic_reader import read_converted
from pokupai_lib.runtime.exit_codes import ZOMBIE_EXIT_CODE
from pokupai_lib.runtime.stats_http import serve_stats

__all__ = ["FilterLoop", "Watchdog", "main", "next_offsets"]

log = logging.getLogger("pokupai_lib.filter")


def next_offsets(batch: list[Message]) -> list[TopicPartition]:
    """The offsets a batch commits: after its last record, for the partitions it has records
    of. Not ``position()``: after a partition-EOF event librdkafka puts the position one past
    the end, so committing it for a partition with nothing in the batch skipped the next
    record there after a restart (seen: 2 of 12,000 products lost across a kill -9)."""
    ends: dict[tuple[str, int], int] = {}
    for msg in batch:
        key = (msg.topic() or "", msg.partition() or 0)
        ends[key] = max(ends.get(key, 0), (msg.offset() or 0) + 1)
    return [TopicPartition(topic, partition, offset)
            for (topic, partition), offset in sorted(ends.items())]


@dataclass(frozen=True)
class _Judging:
    """A batch handed to the judging child: the ban list's generation and the time then."""

    batch: list[Message]
    generation: int
    filtered_at: str


def _keep_out_of_gc() -> None:
    """Move every object alive now out of the cyclic collector's reach.

    The state is millions of objects (200,000 products), none of them in a reference cycle,
    and each full collection walked them all: 0.3 s each, 0.6 s of a 1.3 s ban pass (measured
    on 231,000 products). Frozen objects are still freed by reference counting; only garbage
    in a cycle that is frozen stays, and the loop makes such cycles only on a recovery (an
    exception's traceback), a few objects each time.
    """
    gc.freeze()


class FilterLoop:
    """Consume, judge, produce and commit in transactions until asked to stop."""

    def __init__(self, cfg: LabConfig, stats: FilterStats) -> None:
        self.cfg = cfg
        self.stats = stats
        self.stop = threading.Event()
        self.bans = BanList()
        self.state = ModerationState()
        stats.products = self.state.counts
        # The ban entries the state was last brought in line with (None: not yet, at start).
        self.applied: frozenset[tuple[BanKind, str]] | None = None
        self._applied_generation = -1
        # Products judged while the ban list changed under the batch: the difference between
        # two passes can hide an entry removed and added back meanwhile (seen: 3 products
        # left live after a ban in the moderation invariant test).
        self._recheck: set[bytes] = set()
        self.failure: str | None = None
        self._gauges_at = 0.0
        self._refused: dict[tuple[int, int], DeadLetter] = {}
        self._backoff = filter_backoff(cfg.filter)
        # Judging runs in child processes while this one writes the batch before.
        self.worker = JudgeWorker(cfg.filter.judges, cfg.filter.judge_timeout_s)
        self._judging: _Judging | None = None
        conf = client_config(cfg, "primary", "filter")
        self._consumer_conf = conf | {
            "group.id": cfg.filter.group_id, "enable.auto.commit": False,
            # Static membership: a restarted filter takes its predecessor's place at once
            # instead of waiting for the dead member's session to time out.
            "group.instance.id": cfg.filter.transactional_id, "session.timeout.ms": 10_000,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest",
            "fetch.min.bytes": 1, "queued.min.messages": 20_000, "enable.partition.eof": True,
            # librdkafka's default waits 1 s before fetching a partition again once the local
            # queue passed queued.min.messages, and a batch drains that queue in about 1 s.
            "fetch.queue.backoff.ms": 10}
        self.consumer = Consumer(self._consumer_conf)
        self.started_at = self.progress_at = time.monotonic()
        self.joined_at = self.started_at  # when the consumer subscribed (see run)
        self.stall = StallClock(cfg.filter.stuck_after_s, self.started_at)
        self.ends = PartitionEnds()
        self.writer = TransactionalWriter(conf, cfg.filter, self.stop, self._waited)

    # -- one batch -------------------------------------------------------------------------

    def _emit(self, msg: Message, verdict: Verdict, now: str,
              pending: dict[bytes, Moderation]) -> None:
        refused = self._refused.pop((msg.partition() or 0, msg.offset() or 0), None)
        if refused is not None:
            verdict = Verdict(dead_letter=refused)
        if verdict.dead_letter is not None:
            value, headers = dead_letter_record(msg, verdict.dead_letter,
                                                self.cfg.filter.max_record_bytes // 2)
            self.writer.produce(self.cfg.topics.shop_dlq, value, msg.key(), headers=headers)
            self.stats.record_dead_letter(verdict.dead_letter.error_type)
            return
        key = msg.key() or b""
        decision = decide(key, verdict, pending.get(key) or self.state.get(key), now)
        self._write(decision, source=msg)
        pending[key] = decision.moderation
        if verdict.banned:
            first = verdict.banned[0]
            self.stats.record_banned(first.rule, first.term)

    def _write(self, decision: Decision, source: Message | None = None) -> None:
        """``shop-clear`` (when what it shows changes) and ``shop-moderation`` for one
        decision, in the open transaction."""
        if decision.emit:
            # A tombstone, so copies downstream drop a product that passed before.
            delivered = ({} if decision.clear is None or source is None
                         else {"on_delivery": functools.partial(self._delivered, source)})
            self.writer.produce(self.cfg.topics.shop_clear, decision.clear, decision.key,
                                **delivered)
        product_id = decision.key.decode("utf-8", "replace")
        self.writer.produce(self.cfg.topics.shop_moderation,
                      encode_moderation(product_id, decision.moderation), decision.key)

    def _delivered(self, source: Message, error: KafkaError | None, _msg: Message) -> None:
        if error is not None and is_record_fault(error):
            self._refused[(source.partition() or 0, source.offset() or 0)] = DeadLetter(
                "refused-by-broker", f"{error.name()}: {error.str()}")

    def _submit(self, batch: list[Message]) -> None:
        """Hand ``batch`` to the judging child, against the ban list as it is now."""
        judging = _Judging(batch, self.bans.generation,
                           datetime.now(UTC).isoformat(timespec="milliseconds"))
        self.worker.submit(batch, self.bans.entries(), judging.filtered_at)
        self._judging = judging

    def _take_judged(self) -> tuple[_Judging, list[Verdict]] | None:
        """The batch in the judging child with its verdicts, or None if there is none."""
        judging, self._judging = self._judging, None
        return None if judging is None else (judging, self.worker.take())

    def _process(self, judging: _Judging, verdicts: list[Verdict]) -> None:
        """One transaction: every record of a judged batch plus the consumer's offsets."""
        batch, generation, filtered_at = judging.batch, judging.generation, judging.filtered_at
        self.writer.begin()
        pending: dict[bytes, Moderation] = {}
        for msg, verdict in zip(batch, verdicts, strict=True):
            self._emit(msg, verdict, filtered_at, pending)
        self.writer.flush()
        if self._refused:
            raise RecordRefused(f"{len(self._refused)} record(s) refused by the broker")
        self.writer.commit(next_offsets(batch), self.consumer.consumer_group_metadata())
        self._committed(pending)
        if self.bans.generation != generation or generation != self._applied_generation:
            self._recheck.update(pending)
            self._applied_generation = -1  # a pass is due, whatever the generation says
        self.stats.record_processed(len(batch))
        self.stats.record_passed(sum(v.passed for v in verdicts))
        now = time.time()
        self.stats.record_latencies([max(0.0, now - msg.timestamp()[1] / 1000) for msg in batch])

    def _committed(self, changes: dict[bytes, Moderation]) -> None:
        """Take a committed transaction's decisions into the state."""
        self.state.apply(changes)
        _keep_out_of_gc()

    # -- recovery ---------------------------------------------------------------------------

    def _recover(self, exc: Exception) -> None:
        """Abort the failed batch (or replace a fenced producer), go back to the committed
        offsets and wait a growing delay before the batch is redone."""
        error = kafka_error(exc)
        fault = ("record refused" if isinstance(exc, RecordRefused)
                 else "registry" if isinstance(exc, RegistryUnavailable)
                 else error.name() if error is not None else type(exc).__name__)
        self.stats.record_recovery(fault)
        delay = (0.0 if isinstance(exc, RecordRefused | JudgeWorkerLost)
                 else self._backoff.next_delay())
        log.warning("batch not committed (%s: %s); it is redone after %.1f s", fault, exc, delay)
        self._judging = None  # read again after the rewind
        self.worker.discard()
        # A producer whose call was left hanging is not asked to abort: that would hang too.
        if isinstance(exc, ProducerLost) or is_fenced(error) or not self.writer.abort():
            self.writer.replace(str(exc))
        self._rewind_to_committed()
        self.ends.forget()
        self.stop.wait(delay)

    def _waited(self) -> None:
        self.progress_at = time.monotonic()  # waiting out an outage is not a stall

    def _rewind_to_committed(self) -> None:
        """Seek every assigned partition to its committed offset (the truth after an abort or
        a fencing, whatever this process had read), retrying while the coordinator moves."""
        backoff = filter_backoff(self.cfg.filter)
        while not self.stop.is_set():
            try:
                assignment = self.consumer.assignment()
                committed = self.consumer.committed(assignment, timeout=10) if assignment else []
                for tp in committed:
                    # An offset the coordinator could not give (a transaction still pending,
                    # say) is no "nothing committed": seeking to the start would redo it all.
                    if tp.error is not None:
                        raise KafkaException(tp.error)
                for tp in committed:
                    offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
                    self.consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
                return
            except KafkaException as exc:
                delay = backoff.next_delay()
                log.warning("committed offsets not read (%s); again in %.1f s", exc, delay)
                self.stop.wait(delay)
                self.progress_at = time.monotonic()

    def _fenced(self, why: str) -> None:
        """The group gave this consumer's static membership to another member. Soon after
        this process joined the group, that is another live instance (a zombie): step down.
        Later, an outage can do it with no other instance about (seen after a 65 s outage),
        and a new consumer inside this process raced with the fenced one (seen), so the
        process exits for its keeper to start a fresh one."""
        if time.monotonic() - self.joined_at < self.cfg.filter.zombie_window_s:
            raise ZombieError(f"the consumer was fenced soon after start: {why}")
        raise ConsumerFenced(why)

    def _next_batch(self, timeout_s: float) -> list[Message]:
        """Records to process; raises ConsumerFenced when the group fenced this instance."""
        batch = []
        for msg in self.consumer.consume(self.cfg.filter.batch_size, timeout_s):
            error = msg.error()
            if error is None:
                batch.append(msg)
            elif fault_of(error) is Fault.CONSUMER_FENCED:  # its fatal() flag is not set here
                self._fenced(error.str())
            elif error.code() == KafkaError._PARTITION_EOF:
                self.ends.reached(msg.partition() or 0, msg.offset() or 0)
            else:
                log.warning("consumer: %s", error.str())
        if batch:
            self.stall.fetched(time.monotonic())
        return batch

    def _lag(self) -> int | None:
        """Records not yet processed, or None while the consumer has no partitions."""
        assignment = self.consumer.assignment()
        if not assignment:
            return None
        positions = self.consumer.position(assignment)
        unknown = [tp for tp in positions if tp.offset < 0]
        committed = {tp.partition: tp.offset
                     for tp in (self.consumer.committed(unknown, timeout=10) if unknown else [])}
        # While records arrive, each fetch response brings its partition's high watermark;
        # asking the broker instead (a request per partition) held the loop up 0.2 s of each
        # second under load (py-spy). A consumer that stopped fetching (seen after broker
        # restarts) has a stale cache that shows no lag: it asks the broker.
        cached = self.stall.fetching(time.monotonic())
        lag = 0
        for tp in positions:
            low, high = self.consumer.get_watermark_offsets(tp, timeout=5, cached=cached)
            if cached and high < 0:  # no fetch response for it yet
                low, high = self.consumer.get_watermark_offsets(tp, timeout=5, cached=False)
            offset = tp.offset if tp.offset >= 0 else committed.get(tp.partition, -1)
            lag += self.ends.lag(tp.partition, offset if offset >= 0 else low, high)
        # Read but not written yet: the batch in the judging child.
        return lag + (len(self._judging.batch) if self._judging is not None else 0)

    def _refresh_gauges(self) -> None:
        if time.monotonic() - self._gauges_at < 1.0:
            return
        self._gauges_at = time.monotonic()
        try:
            lag = self._lag()
        except KafkaException as exc:  # e.g. NOT_COORDINATOR while a broker restarts
            log.warning("lag not measured this time (the gauges keep their values): %s", exc)
            self.stall.excuse(time.monotonic())
            return
        self.stats.ready = lag is not None and self.failure is None
        self.stats.set_gauges(-1 if lag is None else lag, len(self.bans),
                              self.bans.generation != self._applied_generation)
        stalled_s = self.stall.observe(lag, time.monotonic())
        if stalled_s is not None:
            raise ConsumerStuck(f"{lag} records waiting and none fetched for {stalled_s:.0f} s")

    def run(self) -> None:
        """Load the ban list, follow it, and filter until ``stop`` is set."""
        BanTopic(self.cfg, principal="filter").load_and_follow(
            self.bans, self.stop, on_error=lambda p: log.warning("ban-words: %s", p),
            on_death=self._follower_died)
        self.writer.init_transactions()  # first: it aborts what a killed predecessor left open
        self._load_state()
        self.consumer.subscribe([self.cfg.topics.shop_raw])
        # From here, not from the start: loading the state takes 25 s for 250,000 products,
        # and a zombie's takeover came 61 s after its start (seen), so it read as an outage's.
        self.joined_at = time.monotonic()
        self.stats.joined_at = time.time()
        log.info("filter started with %d ban entries and %d products (%s)", len(self.bans),
                 len(self.state), dict(self.state.counts()))
        while not self.stop.is_set():
            self._refresh_gauges()  # between batches (the one being judged counts as lag)
            if self.bans.generation != self._applied_generation:
                self._apply_ban_changes()
            # No wait for more records while a batch is judged: it is written next.
            batch = self._next_batch(0 if self._judging is not None else 0.2)
            self.progress_at = time.monotonic()
            if not batch and self._judging is None:
                continue
            try:
                judged = self._take_judged()
                if batch:
                    self._submit(batch)  # judged by the children while the one before is written
                if judged is not None:
                    self._process(*judged)
            except (KafkaException, RegistryUnavailable, RecordRefused, JudgeWorkerLost,
                    ProducerLost) as exc:
                self._recover(exc)
                continue
            self._backoff.reset()
        self.consumer.close()
        self.worker.close()

    def _load_state(self) -> None:
        """Rebuild the moderation state from ``shop-moderation`` (read_committed, to its end)."""
        started = time.monotonic()
        # Taken into the state as they are read: holding every record first (520,000 for
        # 219,000 products) left the filter at 1,013 MiB RSS, against 544 MiB this way.
        taken = read_converted(self.cfg, self.cfg.topics.shop_moderation,
                               lambda msg: self.state.take(decode_record(msg.key(), msg.value())),
                               principal="filter",
                               timeout_s=self.cfg.filter.state_load_timeout_s)
        _keep_out_of_gc()
        problems = [problem for problem in taken if problem is not None]
        for problem in problems[:10]:
            log.warning("shop-moderation: %s (record skipped)", problem)
        log.info("moderation state: %d records read into %d products in %.1f s",
                 len(taken), len(self.state), time.monotonic() - started)

    def _apply_ban_changes(self) -> None:
        """Bring every product judged so far in line with the ban list: withdraw what a new
        entry hits, bring back what a removed one alone blocked; in transactions of at most
        ``batch_size`` products. A failure leaves the rest for the next pass."""
        started = time.monotonic()
        generation = self.bans.generation
        entries = self.bans.entries()
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        recheck = frozenset(self._recheck)
        decisions = decisions_for_ban_changes(self.state, self.bans, entries, self.applied, now,
                                              recheck)
        size = self.cfg.filter.batch_size
        try:
            for first in range(0, len(decisions), size):
                chunk = decisions[first:first + size]
                self.writer.begin()
                for decision in chunk:
                    self._write(decision)
                self.writer.flush()
                self.writer.commit()
                self._committed({d.key: d.moderation for d in chunk})
        except (KafkaException, ProducerLost) as exc:
            self._recover(exc)
            return
        self.applied, self._applied_generation = entries, generation
        self._recheck -= recheck
        if decisions:
            withdrawn = sum(d.emit and d.clear is None for d in decisions)
            restored = sum(d.clear is not None for d in decisions)
            log.info("ban list changed: %d product(s) withdrawn, %d brought back, %d with "
                     "other blocking entries now, in %.2f s", withdrawn, restored,
                     len(decisions) - withdrawn - restored, time.monotonic() - started)
            self.stats.record_ban_changes(withdrawn, restored)

    def moderation_view(self, product_id: str) -> dict[str, object] | None:
        """Why a product is shown or hidden (see :meth:`Moderation.view`); None if unknown."""
        moderation = self.state.get(product_id.encode())
        return None if moderation is None else moderation.view(product_id)

    def _follower_died(self, exc: BaseException) -> None:
        self.failure = f"the ban-words follower died: {exc}"
        self.stats.ready = False
        self.stop.set()


def main() -> None:
    """Entry point of the supervised filter process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = load_config()
    stats = FilterStats()
    loop = FilterLoop(cfg, stats)
    serve_stats(stats, cfg.filter.host, cfg.filter.port, name="filter-stats",
                lookups={"moderation": loop.moderation_view})
    signal.signal(signal.SIGTERM, lambda *_: loop.stop.set())
    signal.signal(signal.SIGINT, lambda *_: loop.stop.set())
    Watchdog(loop, cfg.filter.watchdog_s).start()
    try:
        loop.run()
    except ConsumerFenced as exc:
        log.error("the consumer is unusable (%s: %s); exiting so that its keeper starts a "
                  "fresh one", type(exc).__name__, exc)
        sys.exit(1)
    except ZombieError as exc:
        log.error("another filter with transactional id %r runs and took over (%s); this one "
                  "exits and is not restarted", cfg.filter.transactional_id, exc)
        sys.exit(ZOMBIE_EXIT_CODE)
    if loop.failure is not None:
        log.error("%s; exiting so the supervisor restarts the filter", loop.failure)
        sys.exit(1)


if __name__ == "__main__":
    main()
