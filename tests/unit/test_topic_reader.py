"""Which Kafka errors the readers treat as a moving leader or coordinator worth waiting out,
and reading a range to its end, with fake consumers."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from kafka_fakes import FakeConsumer, FakeMessage, eof

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabTimeoutError
from pokupai_lib.kafka import topic_reader
from pokupai_lib.kafka.faults import coordinator_moving, leadership_moving


@pytest.mark.parametrize("code", [KafkaError.NOT_LEADER_FOR_PARTITION,
                                  KafkaError.LEADER_NOT_AVAILABLE,
                                  KafkaError.FENCED_LEADER_EPOCH])
def test_a_moving_leader_is_retried_even_without_librdkafkas_retriable_flag(code: int) -> None:
    error = KafkaError(code)
    assert not error.retriable()  # how librdkafka raises it from a watermark query
    assert leadership_moving(error)


@pytest.mark.parametrize("code", [KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                  KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._SSL])
def test_other_errors_are_raised_at_once(code: int) -> None:
    assert not leadership_moving(KafkaError(code))


@pytest.mark.parametrize("code", [KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                                  KafkaError.COORDINATOR_NOT_AVAILABLE,
                                  KafkaError.NOT_COORDINATOR])
def test_a_loading_group_coordinator_is_waited_through(code: int) -> None:
    assert coordinator_moving(KafkaError(code))


def test_an_authorization_failure_is_not_a_moving_coordinator() -> None:
    assert not coordinator_moving(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED))


class _WatermarkConsumer:
    """list_topics and get_watermark_offsets of one 1-partition topic, or an error."""

    def __init__(self, error: KafkaError | None, end: int = 7) -> None:
        self.error, self.end = error, end

    def list_topics(self, topic: str, timeout: float) -> Any:
        if self.error is not None:
            raise KafkaException(self.error)
        partitions = {0: None}
        return type("Meta", (), {"topics": {topic: type("T", (), {"partitions": partitions})}})

    def get_watermark_offsets(self, _tp: Any, timeout: float) -> tuple[int, int]:
        return 0, self.end

    def close(self) -> None:
        pass


def _consumers(monkeypatch: pytest.MonkeyPatch, consumers: list[Any]) -> None:
    monkeypatch.setattr(topic_reader, "_consumer", lambda *_args: consumers.pop(0))


def test_end_offsets_retries_while_the_leader_moves(tmp_cfg: LabConfig,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _consumers(monkeypatch, [_WatermarkConsumer(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)),
                             _WatermarkConsumer(None, end=7)])
    assert topic_reader.end_offsets(tmp_cfg, "t") == {0: 7}


def test_end_offsets_raises_any_other_error_at_once(tmp_cfg: LabConfig,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    denied = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    _consumers(monkeypatch, [_WatermarkConsumer(denied), _WatermarkConsumer(None)])
    with pytest.raises(KafkaException, match="TOPIC_AUTHORIZATION_FAILED"):
        topic_reader.end_offsets(tmp_cfg, "t")


def test_read_range_reads_to_the_end_offsets_taken_at_its_start(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = FakeConsumer([None, FakeMessage(0, 0, b"a", b"1"), FakeMessage(0, 1, b"b", b"2"),
                             FakeMessage(0, 2, b"late", b"3")])
    monkeypatch.setattr(topic_reader, "end_offsets", lambda *_a, **_k: {0: 2, 1: 0})
    _consumers(monkeypatch, [consumer])
    records = topic_reader.read_range(tmp_cfg, "t")
    assert [(r.key, r.value) for r in records] == [(b"a", b"1"), (b"b", b"2")]
    assert consumer.closed  # and the record past the end, fetched in the batch, is not kept


def test_read_range_of_nothing_does_not_poll(tmp_cfg: LabConfig,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = FakeConsumer([FakeMessage(0, 0, b"a", b"1")])
    monkeypatch.setattr(topic_reader, "end_offsets", lambda *_a, **_k: {0: 5})
    _consumers(monkeypatch, [consumer])
    assert topic_reader.read_range(tmp_cfg, "t", start={0: 5}) == []
    assert consumer.script  # never polled


def test_read_range_that_never_reaches_the_end_times_out(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = FakeConsumer([FakeMessage(0, 0, b"a", b"1"), eof(1, 3)])
    monkeypatch.setattr(topic_reader, "end_offsets", lambda *_a, **_k: {0: 2, 1: 3})
    _consumers(monkeypatch, [consumer])
    with pytest.raises(LabTimeoutError, match=r"t \(primary\) read to the end.*pending=\{0\}"):
        topic_reader.read_range(tmp_cfg, "t", timeout_s=0.1)
    assert consumer.closed
