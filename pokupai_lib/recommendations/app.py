"""The recommendations engine: a Quix Streams app on the secondary cluster, as ``recommender``.

Topology (every piece of state is a Quix state store backed by a changelog topic; the two
hop topics are written and read by the app itself, so each hop is part of the transaction)::

  primary.shop-clear (key product_id)
    → judged → last version per product → membership (join/leave/rename) and term changes
      ├→ membership changes  → category hop (key category)
      └→ term changes, one record per term bucket → term hop (key bucket)
  primary.client-searches (key id_client)
    → judged → term hop (key: the bucket of its match key)
  term hop      → term index {term: {category|word: {category: n}}}; a search takes its category
                → category hop (key category)
  category hop  → exact count + newest 2N members → products_by_category
                  a search takes the category's row → SEARCHES_WITH_PRODUCTS (key id_client)

A product costs one record per hop and bucket (about five with its state and row), however many
terms it has; the term and category states are written to their changelogs once per commit
however often they changed. Searches and the changes they depend on meet in one stateful step,
so no join store keeps versions.

Exactly once: each checkpoint is one transaction over outputs, repartition topics, changelogs
and offsets. The transactional id and the consumer's ``group.instance.id`` are fixed, so after
a ``kill -9`` the restarted process aborts its predecessor's open transaction and gets its
partitions back at once.

Nothing in a record stops the app: an input record that raises anything while it is judged
(types, lengths and key included, so the stateful steps only get well-formed values), and a
value it built for ``products_by_category``, ``SEARCHES_WITH_PRODUCTS`` or its hop topic that
is larger than ``max_value_bytes``, go to ``recommender-dlq`` instead
(:mod:`pokupai_lib.recommendations.dead_letters`), inside the same transaction. A Kafka outage
does not stop it either: :class:`~pokupai_lib.recommendations.recovery.AppRunner` rebuilds the app.
Run it with ``python -m pokupai_lib.recommendations.app``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from quixstreams import Application, message_context
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models import Deserializer, SerializationContext, Topic
from quixstreams.models.serializers.json import JSONSerializer
from quixstreams.state import State

from pokupai_lib.config import LabConfig, Principal, load_config
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.faults import Backoff, send_offsets_within
from pokupai_lib.kafka.topic_reader import is_partition_eof
from pokupai_lib.recommendations.category_rows import apply_member_change, category_row
from pokupai_lib.recommendations.dead_letters import (
    RecordSource,
    input_dead_letter,
    oversize_dead_letter,
    serialized_value,
)
from pokupai_lib.recommendations.recovery import AppRunner
from pokupai_lib.recommendations.rules import (
    apply_term_change,
    build_recommendation,
    parse_product,
    parse_search,
    product_changes,
    record_key,
    resolve_category,
    term_batches,
    term_bucket,
)
from pokupai_lib.recommendations.stats import RecommenderStats
from pokupai_lib.runtime.stats_http import serve_stats

__all__ = ["AdaptiveCommitApplication", "Recommender", "TextKeyDeserializer", "bound_send_offsets",
           "build_app", "main"]

log = logging.getLogger("pokupai_lib.recommender")

PRINCIPAL: Principal = "recommender"
_CONNECTION_KEYS = ("bootstrap.servers", "security.protocol", "ssl.ca.location",
                    "ssl.certificate.location", "ssl.key.location",
                    "ssl.endpoint.identification.algorithm")


class TombstoneJSONSerializer(JSONSerializer):
    """Quix's JSON serializer writes None as the text ``null``; a compacted table needs a real
    tombstone."""

    def __call__(self, value: Any, ctx: SerializationContext  # type: ignore[override]
                 ) -> str | bytes | None:
        return None if value is None else super().__call__(value, ctx)


class TextKeyDeserializer(Deserializer):
    """Keys as UTF-8 text with undecodable bytes kept as surrogate escapes. Quix's ``str``
    deserializer raises on them, which stops the app; this lets the judging step dead-letter
    the record. A valid key decodes exactly as with ``str``, so state keys do not change."""

    def __init__(self) -> None:  # typed, unlike the base's, which does nothing
        pass

    def __call__(self, value: bytes, ctx: SerializationContext) -> str:
        return value.decode("utf-8", "surrogateescape")


def _connection(cfg: LabConfig) -> ConnectionConfig:
    conf = client_config(cfg, cfg.mirror.target, PRINCIPAL)
    return ConnectionConfig.from_librdkafka_dict({k: conf[k] for k in _CONNECTION_KEYS})


def _source() -> RecordSource:
    ctx = message_context()
    return RecordSource(ctx.topic, ctx.partition, ctx.offset)


def _product_record(raw: bytes | None, key: str | None) -> dict[str, Any]:
    """A product record judged: its id (the key) and its parsed value (None: tombstone)."""
    return {"pid": record_key(key, "product", required=True), "product": parse_product(raw)}


def _search_record(raw: bytes | None, key: str | None) -> dict[str, Any]:
    return parse_search(raw, record_key(key, "search event", required=False))


def _judged(parse: Callable[[bytes | None, str | None], Any],
            keep_bytes: int) -> Callable[..., dict[str, Any]]:
    """A step that judges an input record: ``{"ok": True, "value": parsed}``, or
    ``{"ok": False, "letter": dead letter}`` when parsing raised anything at all."""

    def step(value: bytes | None, key: str | None, timestamp: int,
             headers: Any) -> dict[str, Any]:
        try:
            return {"ok": True, "value": parse(value, key)}
        except Exception as exc:  # noqa: BLE001 - whatever parsing raises, the record is why
            source = _source()
            log.warning("dead letter from %s[%s]@%s: %s: %s", source.topic, source.partition,
                        source.offset, type(exc).__name__, exc)
            return {"ok": False,
                    "letter": input_dead_letter(exc, source, key, value, keep_bytes)}
    return step


class Recommender:
    """Builds the topology; its step methods are the stateful parts."""

    def __init__(self, cfg: LabConfig, stats: RecommenderStats) -> None:
        self.cfg = cfg
        self.stats = stats

    def track_product(self, record: dict[str, Any], key: str, timestamp: int,
                      headers: Any, state: State[str, Any]) -> list[dict[str, Any]]:
        """The membership changes of a product's new version, each a record for the category
        hop, and its term changes batched by bucket, each a record for the term hop."""
        old, product = state.get("product"), record["product"]
        if product is None:
            state.delete("product")
        else:
            state.set("product", product)
        changes = product_changes(old, product, record["pid"])
        self.stats.product_changes.inc(len(changes))
        members = [change for change in changes if change["kind"] == "member"]
        return [*members, *term_batches(changes, self.cfg.recommender.term_buckets)]

    def on_term_hop(self, record: dict[str, Any], bucket: str, timestamp: int, headers: Any,
                    state: State[str, Any]) -> list[dict[str, Any]]:
        """Term changes update the bucket's terms; a search leaves with its category."""
        if record["kind"] == "search":
            return [{**resolve_category(record, state.get(record["key"])), "kind": "search"}]
        for change in record["changes"]:
            index = apply_term_change(state.get(change["term"], {}), change)
            if index is None:
                state.delete(change["term"])
            else:
                state.set(change["term"], index)
        return []

    def on_category_hop(self, record: dict[str, Any], category: str, timestamp: int,
                        headers: Any, state: State[str, Any]) -> dict[str, Any]:
        """A membership change gives the category's new row (None: its tombstone); a search
        its recommendation from the category's current row."""
        shown = self.cfg.recommender.shown_per_category
        current = state.get("category")
        if record["kind"] == "search":
            row = None if current is None else category_row(current, category, shown)
            return {"kind": "recommendation", "value": build_recommendation(record, row)}
        new, row = apply_member_change(current, record, category, shown)
        if new is None:
            state.delete("category")
        else:
            state.set("category", new)
        return {"kind": "row", "value": row}

    def recommended(self, row: dict[str, Any]) -> dict[str, Any]:
        self.stats.record_recommendation(row)
        return row

    def _count_letter(self, letter: dict[str, Any]) -> dict[str, Any]:
        self.stats.dead_lettered.labels(letter["topic"]).inc()
        return letter

    def _split(self, judged: StreamingDataFrame, dead_letters: Topic) -> StreamingDataFrame:
        """Send the dead letters of a judged stream to their topic; return its good values."""
        (judged.filter(lambda row: not row["ok"])
         .apply(lambda row: self._count_letter(row["letter"]))
         .to_topic(dead_letters, key=lambda letter: letter["key"]))
        return judged.filter(lambda row: row["ok"]).apply(lambda row: row["value"])

    def size_judge(self, destination: str,
                   key_of: Callable[[Any, Any], str | None]) -> Callable[..., dict[str, Any]]:
        """A step that lets a value through (``{"ok": True, "value": value}``) if it fits in
        one record of ``destination``, and otherwise makes it a dead letter keyed by
        ``key_of(value, message key)``."""
        rec = self.cfg.recommender

        def judge(value: Any, key: Any, timestamp: int, headers: Any) -> dict[str, Any]:
            serialized = serialized_value(value)
            if value is None or len(serialized) <= rec.max_value_bytes:
                return {"ok": True, "value": value}
            source = _source()
            log.warning("dead letter: a %d-byte value for %s from %s[%s]@%s", len(serialized),
                        destination, source.topic, source.partition, source.offset)
            return {"ok": False, "letter": oversize_dead_letter(
                destination, serialized, rec.max_value_bytes, source, key_of(value, key),
                rec.dead_letter_value_bytes)}
        return judge

    def _fitting(self, sdf: StreamingDataFrame, destination: Topic, dead_letters: Topic,
                 key_of: Callable[[Any, Any], str | None]) -> StreamingDataFrame:
        """``sdf`` without the values too large for ``destination``: those become dead
        letters."""
        judged = sdf.apply(self.size_judge(destination.name, key_of), metadata=True)
        return self._split(judged, dead_letters)

    def build(self, app: Application) -> None:
        rec = self.cfg.recommender
        remote = self.cfg.mirror.remote_topic
        products_in = app.topic(remote(self.cfg.topics.shop_clear),
                                key_deserializer=TextKeyDeserializer(),
                                value_deserializer="bytes")
        searches_in = app.topic(remote(self.cfg.topics.client_searches),
                                key_deserializer=TextKeyDeserializer(),
                                value_deserializer="bytes")
        by_category = app.topic(rec.products_by_category, key_serializer="str",
                                value_serializer=TombstoneJSONSerializer())
        recommendations = app.topic(rec.searches_with_products, key_serializer="str")
        dead_letters = app.topic(rec.dead_letters, key_serializer="str")
        term_hop = app.topic(rec.term_hop, key_serializer="str", key_deserializer="str")
        category_hop = app.topic(rec.category_hop, key_serializer="str",
                                 key_deserializer="str")

        products = self._split(app.dataframe(products_in).apply(
            _judged(_product_record, rec.dead_letter_value_bytes), metadata=True), dead_letters)
        changes = products.apply(self.track_product, stateful=True, expand=True, metadata=True)
        (changes.filter(lambda c: c["kind"] == "member")
         .to_topic(category_hop, key=lambda c: c["category"]))
        (changes.filter(lambda c: c["kind"] == "terms")
         .to_topic(term_hop, key=lambda c: c["bucket"]))

        searches = self._split(app.dataframe(searches_in).apply(
            _judged(_search_record, rec.dead_letter_value_bytes), metadata=True), dead_letters)
        (searches.apply(lambda s: {**s, "kind": "search"})
         .to_topic(term_hop, key=lambda s: term_bucket(s["key"], rec.term_buckets)))

        resolved = app.dataframe(term_hop).apply(self.on_term_hop, stateful=True, expand=True,
                                                 metadata=True)
        if not rec.keep_unmatched:
            resolved = resolved.filter(lambda s: s["category"] is not None)
        resolved = self._fitting(resolved, category_hop, dead_letters,
                                 lambda s, _k: s["category"] or "")
        resolved.to_topic(category_hop, key=lambda s: s["category"] or "")

        outcomes = app.dataframe(category_hop).apply(self.on_category_hop, stateful=True,
                                                     metadata=True)
        rows = outcomes.filter(lambda o: o["kind"] == "row").apply(lambda o: o["value"])
        self._fitting(rows, by_category, dead_letters, lambda _v, key: key).to_topic(by_category)
        built = outcomes.filter(lambda o: o["kind"] == "recommendation").apply(
            lambda o: o["value"])
        (self._fitting(built, recommendations, dead_letters, lambda r, _k: r["CLIENT_ID"])
         .apply(self.recommended)
         .to_topic(recommendations, key=lambda r: r["CLIENT_ID"]))


class AdaptiveCommitApplication(Application):
    """Commits a checkpoint as soon as a poll finds no record (once it is ``idle_commit_s``
    old), besides Quix's own schedule (``commit_interval``). Idle, a search's three
    transactional hops each become visible a poll or two after they are written; under a
    steady stream the app commits only at the interval, so fewer, larger transactions carry
    the load. Hooks ``_process_message`` of Quix Streams 3.28 (pinned): it runs once per
    poll, and the run tracker and the checkpoint know whether that poll gave a message and
    when the checkpoint began."""

    def __init__(self, *args: Any, idle_commit_s: float, send_offsets_timeout_s: float,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_commit_s = idle_commit_s
        bound_send_offsets(self._producer._producer, send_offsets_timeout_s)

    def _process_message(self, dataframe_composed: Any) -> None:
        super()._process_message(dataframe_composed)  # type: ignore[no-untyped-call]
        if self._run_tracker._message_consumed:
            return
        checkpoint = self._processing_context.checkpoint
        age = time.monotonic() - checkpoint._created_at
        if age >= self.idle_commit_s and not checkpoint.empty():
            self._processing_context.commit_checkpoint(force=True)


def bound_send_offsets(producer: Any, timeout_s: float, grace_s: float = 5.0) -> None:
    """Make ``producer.send_offsets_to_transaction`` (Quix's wrapper of the transactional
    producer) give up after ``timeout_s``: Quix calls it without a timeout on every commit, and
    librdkafka waited for ever for a group coordinator that had restarted while the app idled
    (its issue 5511), and it can outlive a timeout too (issue 5456): the call is given up
    ``grace_s`` after its own timeout. :class:`~pokupai_lib.errors.ProducerLost` then ends the
    run and the runner builds a new app, whose producer fences the stuck one."""
    unbounded = producer.send_offsets_to_transaction

    def bounded(positions: list[TopicPartition], group_metadata: Any,
                timeout: float | None = None) -> None:
        budget = timeout_s if timeout is None or timeout < 0 else min(timeout, timeout_s)
        send_offsets_within(unbounded, positions, group_metadata, budget, grace_s)

    producer.send_offsets_to_transaction = bounded


def build_app(cfg: LabConfig, stats: RecommenderStats) -> Application:
    """The Quix application with the lab's security, exactly-once and latency settings."""
    rec = cfg.recommender
    app = AdaptiveCommitApplication(
        broker_address=_connection(cfg),
        consumer_group=rec.consumer_group,
        processing_guarantee="exactly-once",
        producer_extra_config={"transactional.id": rec.transactional_id,
                               "transaction.timeout.ms": rec.transaction_timeout_s * 1000},
        consumer_extra_config={"group.instance.id": rec.transactional_id,
                               "session.timeout.ms": 10_000,
                               "fetch.wait.max.ms": rec.fetch_wait_max_ms,
                               "fetch.min.bytes": rec.fetch_min_bytes},
        auto_offset_reset="earliest",
        commit_interval=rec.commit_interval_s,
        idle_commit_s=rec.idle_commit_s,
        send_offsets_timeout_s=rec.send_offsets_timeout_s,
        consumer_poll_timeout=rec.poll_timeout_s,
        state_dir=str(cfg.paths.state / "recommender"),
        auto_create_topics=True,
    )
    Recommender(cfg, stats).build(app)
    return app


class LagGauge:
    """Measures the group's lag once a second: on its two inputs and on its own hop topics
    (inputs read to the end can still leave work queued there).

    Every one of those topics is written in transactions (MirrorMaker 2 copies exactly once,
    the app writes its hops exactly once), so the distance from the committed offset to the
    end also counts commit markers and the records of aborted transactions, which no one will
    ever process: after a killed MirrorMaker's transaction is aborted it would never reach 0.
    So a partition that is behind by fewer than ``PROBE_BELOW`` offsets is read (committed
    records only) from its committed offset: if nothing is there, it is not behind. One
    further behind is taken as behind by that many (an aborted transaction of MirrorMaker 2
    holds one poll, at most 500 records), so a busy stream costs no reads."""

    PROBE_BELOW = 1_000

    def __init__(self, cfg: LabConfig, stats: RecommenderStats) -> None:
        remote = cfg.mirror.remote_topic
        self.inputs = [remote(cfg.topics.shop_clear), remote(cfg.topics.client_searches)]
        self.internal_prefix = cfg.recommender.internal_prefixes[1]
        self.stats = stats
        self.consumer = Consumer(client_config(cfg, cfg.mirror.target, PRINCIPAL, **{
            "group.id": cfg.recommender.consumer_group, "enable.auto.commit": False,
            "isolation.level": "read_committed", "enable.partition.eof": True,
            "max.partition.fetch.bytes": 65_536}))

    def measure(self) -> dict[str, int]:
        topics = self.consumer.list_topics(timeout=10).topics
        internal = sorted(t for t in topics if t.startswith(self.internal_prefix))
        lags = {topic: 0 for topic in [*self.inputs, *internal] if topic in topics}
        behind: dict[tuple[str, int], int] = {}
        starts: list[TopicPartition] = []
        for topic in lags:
            tps = [TopicPartition(topic, p) for p in topics[topic].partitions]
            for tp in self.consumer.committed(tps, timeout=10):
                low, high = self.consumer.get_watermark_offsets(tp, timeout=10)
                start = tp.offset if tp.offset >= 0 else low
                if high - start >= self.PROBE_BELOW:
                    lags[topic] += high - start
                elif high > start:
                    behind[(topic, tp.partition)] = high - start
                    starts.append(TopicPartition(topic, tp.partition, start))
        for topic, partition in self._holding_records(starts):
            lags[topic] += behind[(topic, partition)]
        return lags

    def _holding_records(self, starts: list[TopicPartition],
                         budget_s: float = 2.0) -> set[tuple[str, int]]:
        """The partitions that hold a committed record at or after their start offset; a
        partition not answered within ``budget_s`` counts as holding one."""
        if not starts:
            return set()
        pending = {(tp.topic, tp.partition) for tp in starts}
        holding: set[tuple[str, int]] = set()
        self.consumer.assign(starts)
        try:
            deadline = time.monotonic() + budget_s
            while pending and time.monotonic() < deadline:
                message = self.consumer.poll(0.1)
                if message is None:
                    continue
                where = (message.topic() or "", message.partition() or 0)
                if where in pending:
                    if not is_partition_eof(message):  # raises another error: not measured
                        holding.add(where)
                    pending.discard(where)
        finally:
            self.consumer.unassign()
        return holding | pending

    def follow(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            try:
                started = time.time()
                self.stats.set_lag(self.measure(), measured_from=started)
            except KafkaException as exc:  # e.g. a coordinator moving while a broker restarts
                log.warning("lag not measured this time: %s", exc)


def main() -> None:
    """Entry point of the supervised recommender process: runs until SIGTERM, outlives Kafka
    outages (the app is rebuilt) and exits with ``ZOMBIE_EXIT_CODE`` when another instance
    took over."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = load_config()
    rec = cfg.recommender
    os.nice(rec.nice)  # before any thread starts: librdkafka's threads inherit it
    stats = RecommenderStats()
    serve_stats(stats, rec.host, rec.port, name="recommender-stats")
    stop = threading.Event()
    threading.Thread(target=LagGauge(cfg, stats).follow, args=(stop,), name="lag",
                     daemon=True).start()
    stats.started_at = datetime.now(UTC).isoformat()
    log.info("recommender starting at %s", time.strftime("%H:%M:%S"))
    first_s, longest_s = rec.restart_backoff_s
    runner = AppRunner(lambda: build_app(cfg, stats),
                       Backoff(first_s, longest_s, rec.healthy_after_s),
                       rec.transaction_timeout_s, on_rebuild=stats.app_rebuilds.inc)
    runner.stop_on_signals()
    try:
        code = runner.run()
    finally:
        stop.set()
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
