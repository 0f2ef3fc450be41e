"""The whole recommender topology, run in-process without Kafka: a bad record or a value too
large for its topic becomes a dead letter and the app goes on; rows stay bounded."""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from quixstreams import Application
from quixstreams.context import set_message_context
from quixstreams.models import Row, Topic
from quixstreams.models.topics import TopicConfig, TopicManager

from pokupai_lib.config import LabConfig
from pokupai_lib.recommendations.app import Recommender
from pokupai_lib.recommendations.stats import RecommenderStats

PRODUCTS = "primary.shop-clear"
SEARCHES = "primary.client-searches"


class FakeAdmin:
    """Every topic exists with 3 partitions, so group_by really goes through its topics."""

    def inspect_topics(self, names: list[str], timeout: float | None = None
                       ) -> dict[str, TopicConfig]:
        return {name: TopicConfig(num_partitions=3, replication_factor=1, extra_config={
            "retention.ms": "604800000", "retention.bytes": "-1"}) for name in names}


@dataclass(frozen=True)
class Message:
    """What Quix reads from a ``confluent_kafka.Message``."""

    name: str
    offset_: int
    key_: bytes | None
    value_: bytes | None
    timestamp_ms: int

    def topic(self) -> str:
        return self.name

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes | None:
        return self.key_

    def value(self) -> bytes | None:
        return self.value_

    def timestamp(self) -> tuple[int, int]:
        return 1, self.timestamp_ms

    def headers(self) -> None:
        return None

    def leader_epoch(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self.value_ or b"")


class OfflineRecommender:
    """Runs the recommender's topology the way ``Application._process_message`` does, but
    with no broker: each record deserialized by its topic, the composed dataframe run in its
    message context, every produced record serialized by its topic and kept, and the records
    for the app's own repartition topics fed back in. Quix runs a whole topology only against
    a broker (``StreamingDataFrame.test`` runs one dataframe), so this uses its internals
    (``_producer``, ``_state_manager``, ``_processing_context``, ``_dataframe_registry``)."""

    def __init__(self, cfg: LabConfig, state_dir: Path) -> None:
        group = cfg.recommender.consumer_group
        self.app = Application(broker_address="localhost:1", consumer_group=group,
                               state_dir=state_dir, use_changelog_topics=False,
                               topic_manager=TopicManager(FakeAdmin(), group))  # type: ignore[arg-type]
        self.written: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.app._producer.produce_row = self._produce_row  # type: ignore[method-assign]
        self.stats = RecommenderStats()
        Recommender(cfg, self.stats).build(self.app)
        for stream_id in self.app._state_manager.stores:
            self.app._state_manager.on_partition_assign(stream_id, 0, {})
        self.app._processing_context.init_checkpoint()  # type: ignore[no-untyped-call]
        registry = self.app._dataframe_registry
        self.composed = registry.compose_all()
        self.topics = {topic.name: topic for topic in registry.consumer_topics}
        self.offsets: Counter[str] = Counter()

    def _produce_row(self, row: Row, topic: Topic, key: Any = None,
                     partition: int | None = None, timestamp: int | None = None) -> None:
        message = topic.row_serialize(row=row, key=key)
        self.written.append((topic.name, message.key, message.value, timestamp))  # type: ignore[arg-type]

    def feed(self, topic: str, key: bytes | None, value: bytes | None,
             timestamp: int = 1_000) -> None:
        """One input record, and everything it makes the app write to its own topics."""
        queue = [(topic, key, value, timestamp)]
        while queue:
            name, key_, value_, ts = queue.pop(0)
            start = len(self.written)
            self._process(Message(name, self.offsets[name], key_, value_, ts))
            self.offsets[name] += 1
            queue += [(t, k, v, s or ts) for t, k, v, s in self.written[start:]
                      if t in self.composed]

    def _process(self, message: Message) -> None:
        row = self.topics[message.topic()].row_deserialize(message)  # type: ignore[arg-type]
        assert isinstance(row, Row)
        context = contextvars.copy_context()
        context.run(set_message_context, row.context)
        context.run(self.composed[message.topic()], row.value, row.key, row.timestamp,
                    row.headers)

    def output(self, topic: str) -> list[tuple[str | None, Any]]:
        """``(key, value)`` of each record written to ``topic``, in order."""
        return [(None if k is None else k.decode(), None if v is None else orjson.loads(v))
                for t, k, v, _ in self.written if t == topic]

    def close(self) -> None:
        self.app._state_manager.close()


def _config(tmp_cfg: LabConfig, **recommender: Any) -> LabConfig:
    return tmp_cfg.model_copy(update={
        "recommender": tmp_cfg.recommender.model_copy(update=recommender)})


@pytest.fixture
def offline(tmp_cfg: LabConfig, tmp_path: Path) -> Iterator[OfflineRecommender]:
    app = OfflineRecommender(_config(tmp_cfg, shown_per_category=3), tmp_path / "state")
    yield app
    app.close()


def _product(name: str, category: str = "Книги", **extra: object) -> bytes:
    return orjson.dumps({"name": name, "category": category, **extra})


def _search(client: str, word: str) -> bytes:
    return orjson.dumps({"id_client": client, "word_search": word})


@pytest.mark.parametrize(("value", "error"), [
    (_product("Атлас", tags=7), "product tags is a JSON number, not an array of strings"),
    (_product("Атлас", tags="карты"), "product tags is a JSON string, not an array"),
    (_product("Атлас", tags=["карты", 3]), "product tag 1 is a JSON number, not a string"),
    (b"\xff{", "product is not JSON"),
])
def test_a_product_it_cannot_use_is_dead_lettered_and_the_next_one_goes_through(
        offline: OfflineRecommender, value: bytes, error: str) -> None:
    offline.feed(PRODUCTS, b"bad", value)
    offline.feed(PRODUCTS, b"good", _product("Словарь"))
    ((key, letter),) = offline.output("recommender-dlq")
    assert key == "bad" and letter["error"].startswith(error)
    assert letter["error_type"] == "Invalid"
    assert (letter["topic"], letter["partition"], letter["offset"]) == (PRODUCTS, 0, 0)
    assert letter["value"] == value.decode("utf-8", "replace")
    assert offline.output("products_by_category")[-1][1]["ALL_PRODUCTS"] == ["Словарь"]


def test_a_key_that_is_not_utf8_is_dead_lettered_instead_of_stopping_the_consumer(
        offline: OfflineRecommender) -> None:
    offline.feed(PRODUCTS, b"p\xff", _product("Атлас"))
    ((key, letter),) = offline.output("recommender-dlq")
    assert key == "p\ufffd" and letter["error"] == "product key is not UTF-8 text"


def test_a_search_it_cannot_use_is_dead_lettered(offline: OfflineRecommender) -> None:
    offline.feed(SEARCHES, b"c1", orjson.dumps({"id_client": ["c1"], "word_search": "книги"}))
    ((key, letter),) = offline.output("recommender-dlq")
    assert key == "c1" and "id_client is a JSON array" in letter["error"]
    assert offline.output("SEARCHES_WITH_PRODUCTS") == []


def test_a_large_category_has_an_exact_count_and_its_newest_names(
        offline: OfflineRecommender) -> None:
    for n in range(50):
        offline.feed(PRODUCTS, f"p{n}".encode(), _product(f"Книга {n}"))
    offline.feed(PRODUCTS, b"p49", None)
    offline.feed(PRODUCTS, b"p10", _product("Книга десять"))
    _, row = offline.output("products_by_category")[-1]
    assert row == {"CATEGORY": "Книги", "PRODUCT_COUNT": 49,
                   "ALL_PRODUCTS": ["Книга десять", "Книга 48", "Книга 47"],
                   "PRODUCTS_CSV": "Книга десять, Книга 48, Книга 47"}
    offline.feed(SEARCHES, b"c1", _search("c1", "книги"), timestamp=2_000)
    ((client, recommendation),) = offline.output("SEARCHES_WITH_PRODUCTS")
    assert client == "c1" and recommendation["TOTAL_PRODUCTS"] == 49
    assert recommendation["ALL_PRODUCTS_ARRAY"] == row["ALL_PRODUCTS"]


def test_values_too_large_for_their_topic_are_dead_lettered_and_the_app_goes_on(
        tmp_cfg: LabConfig, tmp_path: Path) -> None:
    app = OfflineRecommender(_config(tmp_cfg, shown_per_category=3, max_value_bytes=1_000),
                             tmp_path / "state")
    try:
        long_category = "Категория " + "я" * 180  # 370 bytes, thrice in a hop record
        for n in range(3):  # a row of one fits, of two (four names of 211 bytes) does not
            app.feed(PRODUCTS, f"p{n}".encode(), _product("Книга " + "ж" * 100, long_category))
        app.feed(SEARCHES, b"c1", _search("c1", long_category), timestamp=2_000)
        app.feed(PRODUCTS, b"small", _product("Атлас"))
        letters = [letter for _, letter in app.output("recommender-dlq")]
        destinations = Counter(letter["destination"] for letter in letters)
        assert destinations == {"products_by_category": 2,
                                "repartition__recommender-v2--categories": 1}
        assert {letter["error_type"] for letter in letters} == {"ValueTooLarge"}
        assert all(letter["value_bytes"] > 1_000 for letter in letters)
        assert [(row["CATEGORY"], row["PRODUCT_COUNT"])
                for _, row in app.output("products_by_category")] == [(long_category, 1),
                                                                       ("Книги", 1)]
        assert app.output("SEARCHES_WITH_PRODUCTS") == []
    finally:
        app.close()


def test_a_recommendation_too_large_for_its_topic_is_dead_lettered(
        tmp_cfg: LabConfig, tmp_path: Path) -> None:
    app = OfflineRecommender(_config(tmp_cfg, shown_per_category=2, max_value_bytes=1_000),
                             tmp_path / "state")
    try:
        for n in range(2):  # the row fits; with the search's fields around it, it does not
            app.feed(PRODUCTS, f"p{n}".encode(), _product("Книга " + "ж" * 100))
        app.feed(PRODUCTS, b"a", _product("Глобус", "Атлас"))
        app.feed(SEARCHES, b"c1", _search("c1", "книги"), timestamp=2_000)
        app.feed(SEARCHES, b"c2", _search("c2", "атлас"), timestamp=2_000)
        ((key, letter),) = app.output("recommender-dlq")
        assert (key, letter["destination"]) == ("c1", "SEARCHES_WITH_PRODUCTS")
        assert [client for client, _ in app.output("SEARCHES_WITH_PRODUCTS")] == ["c2"]
    finally:
        app.close()


def test_a_product_costs_one_record_per_hop_and_bucket_however_many_terms_it_has(
        offline: OfflineRecommender, tmp_cfg: LabConfig) -> None:
    tags = [f"метка{n}" for n in range(30)]
    offline.feed(PRODUCTS, b"p1", _product("Большой атлас мира", tags=tags))
    rec = tmp_cfg.recommender
    term_records = offline.output(rec.term_hop)
    assert 1 <= len(term_records) <= rec.term_buckets
    assert sum(len(value["changes"]) for _, value in term_records) >= 30
    assert [value["kind"] for _, value in offline.output(rec.category_hop)] == ["member"]
    offline.feed(SEARCHES, b"c1", _search("c1", "метка7"), timestamp=2_000)
    ((_, recommendation),) = offline.output("SEARCHES_WITH_PRODUCTS")
    assert recommendation["MATCHED_CATEGORY"] == "Книги"
    assert recommendation["MATCH_TYPE"] == "word"
