"""The client API's search-event recorder replaces a producer that stopped delivering and
sends its queued events again, losing none."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from confluent_kafka import KafkaError

from pokupai_lib.client_api import events
from pokupai_lib.client_api.events import SearchEvent, SearchRecorder
from pokupai_lib.config import LabConfig

Report = Callable[[KafkaError | None, Any], None]


class Sent:
    def __init__(self, key: bytes, value: bytes) -> None:
        self._key, self._value = key, value

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value


class StuckProducer:
    """Keeps whatever it is given queued, as the wedged producer did; purging reports each
    queued event as purged."""

    made: ClassVar[list[StuckProducer]] = []

    def __init__(self, _conf: dict[str, Any]) -> None:
        self.queue: list[tuple[bytes, bytes, Report]] = []
        StuckProducer.made.append(self)

    def produce(self, _topic: str, key: bytes, value: bytes, on_delivery: Report) -> None:
        self.queue.append((key, value, on_delivery))

    def __len__(self) -> int:
        return len(self.queue)

    def poll(self, _timeout: float) -> int:
        return 0

    def flush(self, _timeout: float) -> int:
        return len(self.queue)

    def purge(self, in_queue: bool, in_flight: bool, blocking: bool) -> None:
        queued, self.queue = self.queue, []
        for key, value, report in queued:
            report(KafkaError(KafkaError._PURGE_QUEUE), Sent(key, value))


@pytest.fixture
def recorder(tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> SearchRecorder:
    StuckProducer.made = []
    monkeypatch.setattr(events, "Producer", StuckProducer)
    return SearchRecorder(tmp_cfg, stuck_after_s=0.1)


def test_events_queued_too_long_go_again_through_a_new_producer(
        recorder: SearchRecorder) -> None:
    recorder.record(SearchEvent("c1", "часы", "2026-11-30T15:00:00.000Z"))
    recorder.record(SearchEvent("c2", "чайник", "2026-11-30T15:00:01.000Z"))
    recorder.start()
    time.sleep(0.5)
    first, *later = StuckProducer.made
    assert later and recorder.replaced >= 1
    assert first.queue == []
    assert [key for key, _v, _r in StuckProducer.made[-1].queue] == [b"c1", b"c2"]
    assert recorder.failed == 0
    assert recorder.close(timeout_s=1) == 2  # still undelivered: said, not dropped


def test_an_idle_recorder_keeps_its_producer(recorder: SearchRecorder) -> None:
    recorder.start()
    time.sleep(0.4)
    assert recorder.close(timeout_s=1) == 0
    assert len(StuckProducer.made) == 1 and recorder.replaced == 0


def test_a_failed_delivery_is_counted_and_named(recorder: SearchRecorder) -> None:
    recorder._on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), Sent(b"c1", b"{}"))
    assert recorder.failed == 1
    assert recorder.last_error is not None and "timed out" in recorder.last_error.lower()


def test_replacements_that_bring_nothing_wait_longer_each_time(tmp_cfg: LabConfig,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    StuckProducer.made = []
    monkeypatch.setattr(events, "Producer", StuckProducer)
    recorder = SearchRecorder(tmp_cfg, stuck_after_s=0.1, max_stuck_after_s=0.4)
    recorder.record(SearchEvent("c1", "часы", "2026-11-30T15:00:00.000Z"))
    recorder.start()
    time.sleep(1.3)  # waits 0.1, 0.2, 0.4, 0.4 …: 3 or 4 replacements, not 12
    assert 2 <= recorder.replaced <= 4
    recorder._on_delivery(None, Sent(b"c1", b"{}"))  # a delivery: patient again from the start
    assert recorder._patience_s == pytest.approx(0.1)
    recorder.close(timeout_s=1)
