"""When the filter calls itself stuck, and which offsets a batch commits."""

from __future__ import annotations

from pokupai_lib.ingest.app import next_offsets
from pokupai_lib.ingest.stall import PartitionEnds, StallClock


def test_an_idle_minute_then_new_records_is_not_a_stall() -> None:
    clock = StallClock(limit_s=60, now=0)
    assert clock.observe(0, now=30) is None
    assert clock.observe(0, now=120) is None  # idle, nothing waits
    assert clock.observe(500, now=121) is None  # a burst arrives: the clock starts now


def test_records_waiting_with_none_fetched_past_the_limit_is_a_stall() -> None:
    clock = StallClock(limit_s=60, now=0)
    assert clock.observe(0, now=10) is None
    assert clock.observe(5, now=11) is None
    assert clock.observe(5, now=70) is None
    assert clock.observe(5, now=71) == 61


def test_fetching_and_outages_restart_the_clock() -> None:
    clock = StallClock(limit_s=60, now=0)
    clock.observe(5, now=1)
    clock.fetched(now=50)
    assert clock.observe(5, now=100) is None
    clock.excuse(now=140)
    assert clock.observe(5, now=190) is None
    assert clock.observe(5, now=201) == 61


def test_the_cached_watermarks_are_trusted_only_while_records_keep_arriving() -> None:
    clock = StallClock(limit_s=60, now=0)
    assert not clock.fetching(now=0.5)  # nothing fetched yet: ask the broker
    clock.fetched(now=10)
    assert clock.fetching(now=11.9)
    assert not clock.fetching(now=12.1)  # a consumer that stopped fetching has a stale cache
    clock.observe(0, now=11)  # an idle reading restarts the stall clock, not this one
    assert clock.fetching(now=11.5)


def test_a_trailing_transaction_marker_is_no_lag_once_the_end_was_seen() -> None:
    ends = PartitionEnds()
    assert ends.lag(0, position=99, high=100) == 1  # the marker, before the end is seen
    ends.reached(0, 100)
    assert ends.lag(0, position=99, high=100) == 0
    assert ends.lag(0, position=99, high=130) == 30  # new records after the end still count
    assert ends.lag(1, position=10, high=12) == 2  # other partitions keep their own end


def test_ends_are_forgotten_after_a_seek_back() -> None:
    ends = PartitionEnds()
    ends.reached(0, 100)
    ends.forget()
    assert ends.lag(0, position=80, high=100) == 20


class _Msg:
    def __init__(self, partition: int, offset: int) -> None:
        self._partition, self._offset = partition, offset

    def topic(self) -> str:
        return "shop-raw"

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


def test_a_batch_commits_after_its_last_record_and_only_for_its_own_partitions() -> None:
    batch = [_Msg(0, 10), _Msg(2, 5), _Msg(0, 11), _Msg(2, 7)]
    committed = next_offsets(batch)  # type: ignore[arg-type]
    assert [(tp.topic, tp.partition, tp.offset) for tp in committed] == [
        ("shop-raw", 0, 12), ("shop-raw", 2, 8)]
