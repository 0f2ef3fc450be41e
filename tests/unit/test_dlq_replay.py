"""Dead letters mapped back to their original records, and a replay's transaction, without
Kafka."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError, TopicPartition

from pokupai_lib.config import LabConfig
from pokupai_lib.dlq import replay
from pokupai_lib.dlq.origins import (
    Redrive,
    Unredrivable,
    dlq_topic,
    dlq_topics,
    redrive_of,
    superseded,
)
from pokupai_lib.errors import InvalidInputError
from pokupai_lib.kafka.topic_reader import Record
from pokupai_lib.recommendations.dead_letters import (
    RecordSource,
    input_dead_letter,
    oversize_dead_letter,
)


def test_the_lab_has_three_dead_letter_topics_on_the_clusters_of_their_sources(
        tmp_cfg: LabConfig) -> None:
    assert [(t.name, t.cluster, t.kind) for t in dlq_topics(tmp_cfg)] == [
        ("shop-dlq", "primary", "filter"),
        ("connect-dlq-products-es-sink", "secondary", "connect"),
        ("recommender-dlq", "secondary", "recommender")]
    with pytest.raises(InvalidInputError, match="shop-dlq, connect-dlq"):
        dlq_topic(tmp_cfg, "shop-raw")


def _filter_headers(**extra: str) -> list[tuple[str, bytes | None]]:
    headers = {"error.type": "not-avro", "error.message": "boom", "source.topic": "shop-raw",
               "source.partition": "2", "source.offset": "41", **extra}
    return [(name, value.encode()) for name, value in headers.items()]


def test_a_filter_letter_goes_back_to_its_shop_raw_partition_without_its_headers() -> None:
    assert redrive_of("filter", b"k", b"\x00raw", _filter_headers()) == Redrive(
        "shop-raw", 2, b"k", b"\x00raw", [], 41)


def test_a_filter_letter_with_a_cut_value_is_not_redriven() -> None:
    plan = redrive_of("filter", b"k", b"\x00ra", _filter_headers(
        **{"original.size": "2000000", "original.truncated": "true"}))
    assert isinstance(plan, Unredrivable) and "first bytes" in plan.reason


def test_a_filter_letter_without_its_source_is_not_redriven() -> None:
    assert redrive_of("filter", b"k", b"v", [("error.type", b"x")]) == Unredrivable(
        "no source.topic header")


def test_a_connect_letter_keeps_the_records_own_headers_and_drops_connects() -> None:
    headers: list[tuple[str, bytes | None]] = [
        ("trace", b"abc"), ("__connect.errors.topic", b"primary.shop-clear"),
        ("__connect.errors.partition", b"1"), ("__connect.errors.offset", b"7"),
        ("__connect.errors.exception.message", b"mapper_parsing_exception"), ("empty", None)]
    assert redrive_of("connect", b"p1", b'{"price": "x"}', headers) == Redrive(
        "primary.shop-clear", 1, b"p1", b'{"price": "x"}', [("trace", b"abc"), ("empty", None)],
        7)


def test_a_connect_letter_without_context_headers_is_not_redriven() -> None:
    assert isinstance(redrive_of("connect", b"p1", b"{}", []), Unredrivable)


def _letter(letter: dict[str, Any]) -> bytes:
    return orjson.dumps(letter)


def test_a_recommender_input_letter_gives_back_the_key_and_value_it_holds() -> None:
    source = RecordSource("primary.shop-clear", 2, 99)
    letter = input_dead_letter(ValueError("bad"), source, "p9", b'{"name": 1}', 10_000)
    assert redrive_of("recommender", b"p9", _letter(letter), []) == Redrive(
        "primary.shop-clear", 2, b"p9", b'{"name": 1}', [], 99)


def test_a_recommender_letter_with_a_cut_value_or_an_oversize_output_is_not_redriven() -> None:
    source = RecordSource("primary.shop-clear", 0, 5)
    cut = input_dead_letter(ValueError("bad"), source, "p1", b"x" * 200, 100)
    oversize = oversize_dead_letter("products_by_category", b"y" * 300, 200, source, "Книги",
                                    100)
    assert "first bytes of its value" in _reason(redrive_of("recommender", b"p1",
                                                             _letter(cut), []))
    assert "products_by_category" in _reason(redrive_of("recommender", "Книги".encode(),
                                                        _letter(oversize), []))
    assert _reason(redrive_of("recommender", None, b"{oops", [])) == "the letter is not JSON"


def _reason(plan: Redrive | Unredrivable) -> str:
    assert isinstance(plan, Unredrivable), plan
    return plan.reason


def test_a_letter_is_superseded_by_a_newer_record_of_its_key_in_its_partition() -> None:
    plan = Redrive("shop-raw", 0, b"k", b"v", [], 10)
    assert superseded(plan, {("shop-raw", 0, b"k"): 12})
    assert not superseded(plan, {("shop-raw", 0, b"k"): 10, ("shop-raw", 1, b"k"): 50})
    assert not superseded(Redrive("shop-raw", None, b"k", b"v", [], None),
                          {("shop-raw", 0, b"k"): 12})


# -- a replay's transaction, with stand-ins for the clients --------------------------------


class _Msg:
    def __init__(self, partition: int, offset: int, key: bytes | None, value: bytes | None,
                 headers: list[tuple[str, bytes | None]] | None = None,
                 eof: bool = False) -> None:
        self._p, self._o, self._k, self._v, self._h = partition, offset, key, value, headers
        self._eof = eof

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def key(self) -> bytes | None:
        return self._k

    def value(self) -> bytes | None:
        return self._v

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        return self._h

    def error(self) -> KafkaError | None:
        return KafkaError(KafkaError._PARTITION_EOF) if self._eof else None


class _Consumer:
    """Serves the letters from the assigned offsets; remembers the group's committed offsets
    across instances (``committed`` is class state, like the broker's)."""

    committed_offsets: dict[int, int] = {}  # noqa: RUF012 - shared on purpose
    letters: list[_Msg] = []  # noqa: RUF012

    def __init__(self, conf: dict[str, Any]) -> None:
        self.group = conf["group.id"]
        self.start: dict[int, int] = {}
        self.served = False

    def committed(self, partitions: list[TopicPartition], timeout: float
                  ) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition,
                               self.committed_offsets.get(tp.partition, -1001))
                for tp in partitions]

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.start = {tp.partition: tp.offset for tp in partitions}

    def consume(self, num: int, timeout: float) -> list[_Msg]:
        if self.served:
            return []
        self.served = True
        return [m for m in self.letters if m.offset() >= self.start[m.partition()]] + [
            _Msg(p, 0, None, None, eof=True) for p in self.start]

    def consumer_group_metadata(self) -> str:
        return self.group

    def close(self) -> None:
        pass


class _Producer:
    instances: list[_Producer] = []  # noqa: RUF012

    def __init__(self, conf: dict[str, Any]) -> None:
        self.conf = conf
        self.calls: list[str] = []
        self.sent: list[tuple[str, bytes | None, bytes | None, dict[str, Any]]] = []
        self.instances.append(self)

    def init_transactions(self, timeout: float) -> None:
        self.calls.append("init")

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def produce(self, topic: str, value: bytes | None, key: bytes | None,
                **kwargs: Any) -> None:
        self.sent.append((topic, key, value, kwargs))

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], group: str,
                                    timeout: float) -> None:
        self.calls.append("offsets")
        self.offsets = offsets

    def commit_transaction(self, timeout: float) -> None:
        self.calls.append("commit")
        _Consumer.committed_offsets.update({tp.partition: tp.offset for tp in self.offsets})

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")


@pytest.fixture
def fake_kafka(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Record]]:
    """Replay's clients replaced; returns the original topics' records by topic (for the
    superseded check), empty unless a test fills it."""
    originals: dict[str, list[Record]] = {}
    _Consumer.committed_offsets = {}
    _Consumer.letters = [
        _Msg(0, 0, b"a", b"A", _filter_headers(**{"source.partition": "0",
                                                  "source.offset": "3"})),
        _Msg(0, 1, b"b", b"B", _filter_headers(**{"source.partition": "1",
                                                  "source.offset": "4"})),
        _Msg(0, 2, b"c", b"C", _filter_headers(**{"original.truncated": "true"})),
    ]
    _Producer.instances = []
    monkeypatch.setattr(replay, "Consumer", _Consumer)
    monkeypatch.setattr(replay, "Producer", _Producer)
    monkeypatch.setattr(replay, "end_offsets",
                        lambda _cfg, topic, _cluster: {0: 3} if topic == "shop-dlq"
                        else {0: 10, 1: 10})
    monkeypatch.setattr(replay, "read_range",
                        lambda _cfg, topic, start, cluster: [
                            r for r in originals.get(topic, [])
                            if r.offset >= start[r.partition]])
    return originals


def test_a_replay_redrives_in_one_transaction_with_the_groups_offsets(
        tmp_cfg: LabConfig, fake_kafka: dict[str, list[Record]]) -> None:
    result = replay.replay_dead_letters(tmp_cfg, "shop-dlq")
    producer = _Producer.instances[0]
    assert producer.conf["transactional.id"] == "pokupai-dlq-replay.shop-dlq-0"
    assert producer.calls == ["init", "begin", "offsets", "commit"]
    assert [(topic, key, value, kw) for topic, key, value, kw in producer.sent] == [
        ("shop-raw", b"a", b"A", {"headers": [], "partition": 0}),
        ("shop-raw", b"b", b"B", {"headers": [], "partition": 1})]
    assert [(tp.topic, tp.partition, tp.offset) for tp in producer.offsets] == [
        ("shop-dlq", 0, 3)]
    assert (result.letters, dict(result.redriven)) == (3, {"shop-raw": 2})
    assert sum(result.skipped.values()) == 1
    assert result.summary()[1] == "  re-drove 2 to shop-raw"


def test_a_second_replay_finds_nothing_new_and_sends_nothing(
        tmp_cfg: LabConfig, fake_kafka: dict[str, list[Record]]) -> None:
    replay.replay_dead_letters(tmp_cfg, "shop-dlq")
    again = replay.replay_dead_letters(tmp_cfg, "shop-dlq")
    assert (again.letters, sum(again.redriven.values())) == (0, 0)
    assert _Producer.instances[1].sent == []
    assert "begin" not in _Producer.instances[1].calls
    from_start = replay.replay_dead_letters(tmp_cfg, "shop-dlq", dry_run=True,
                                            from_beginning=True)
    assert sum(from_start.redriven.values()) == 2


def test_a_dry_run_writes_and_commits_nothing(
        tmp_cfg: LabConfig, fake_kafka: dict[str, list[Record]]) -> None:
    result = replay.replay_dead_letters(tmp_cfg, "shop-dlq", dry_run=True)
    assert _Producer.instances == []
    assert _Consumer.committed_offsets == {}
    assert sum(result.redriven.values()) == 2
    assert result.summary()[1].startswith("  would re-drive 2")


def test_a_letter_whose_key_was_written_again_since_is_skipped(
        tmp_cfg: LabConfig, fake_kafka: dict[str, list[Record]]) -> None:
    fake_kafka["shop-raw"] = [Record(0, 3, b"a", b"A", {}, 0), Record(0, 8, b"a", b"A2", {}, 0)]
    result = replay.replay_dead_letters(tmp_cfg, "shop-dlq")
    assert dict(result.redriven) == {"shop-raw": 1}
    assert any(reason.startswith("superseded") for reason in result.skipped)
    assert [key for _t, key, _v, _kw in _Producer.instances[0].sent] == [b"b"]


def test_a_search_event_is_never_superseded_by_a_later_search_of_the_client(
        tmp_cfg: LabConfig, fake_kafka: dict[str, list[Record]]) -> None:
    _Consumer.letters = [_Msg(0, 0, b"c1", _letter(input_dead_letter(
        ValueError("bad"), RecordSource("primary.client-searches", 0, 3), "c1", b"{}", 100)))]
    fake_kafka["primary.client-searches"] = [Record(0, 9, b"c1", b"{}", {}, 0)]
    result = replay.replay_dead_letters(tmp_cfg, "recommender-dlq")
    assert dict(result.redriven) == {"primary.client-searches": 1}
