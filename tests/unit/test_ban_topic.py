"""Keys and records of the ban-words topic, and reading it, without a broker."""

from __future__ import annotations

import json
import threading

import pytest
from confluent_kafka import KafkaError, KafkaException
from kafka_fakes import FakeConsumer, FakeMessage, ScriptItem, eof

from pokupai_lib.bans import topic as ban_topic
from pokupai_lib.bans.app import MAX_TERM_LENGTH, check_term
from pokupai_lib.bans.rules import BanList
from pokupai_lib.bans.topic import BanTopic, apply_ban_record, ban_key, parse_ban_key
from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabTimeoutError
from pokupai_lib.kafka.topic_reader import ReadProgress
from pokupai_lib.runtime.wait import wait_until


def test_word_keys_are_the_normalized_term_and_exact_bans_are_prefixed() -> None:
    assert ban_key("  Ёлочная ИГРУШКА! ", "word") == "елочная игрушка"
    assert ban_key(" 12345 ", "product_id") == "product_id:12345"
    assert ban_key("XYZ-1", "sku") == "sku:XYZ-1"
    with pytest.raises(ValueError):
        ban_key("   ", "sku")


@pytest.mark.parametrize(("key", "parsed"), [
    ("бан", ("бан", "word")),
    ("product_id:777", ("777", "product_id")),
    ("sku:A-1", ("A-1", "sku")),
])
def test_keys_parse_back(key: str, parsed: tuple[str, str]) -> None:
    assert parse_ban_key(key) == parsed


def test_records_add_and_tombstones_remove() -> None:
    bans = BanList()
    value = json.dumps({"term": "контрафакт", "kind": "word", "added_at": "x", "source": "t"})
    assert apply_ban_record(bans, "контрафакт".encode(), value.encode()) is None
    assert apply_ban_record(bans, b"sku:A-1", b'{"term": "A-1", "kind": "sku"}') is None
    assert bans.terms("word") == ["контрафакт"] and bans.terms("sku") == ["A-1"]
    assert apply_ban_record(bans, "контрафакт".encode(), None) is None
    assert bans.terms("word") == []


def test_unusable_records_are_reported_not_applied() -> None:
    bans = BanList()
    assert apply_ban_record(bans, None, b"{}") == "record without key"
    assert "unreadable" in (apply_ban_record(bans, b"x", b"not json") or "")
    assert "unknown kind" in (apply_ban_record(bans, b"x", b'{"kind": "color"}') or "")
    assert len(bans) == 0


def test_api_term_check() -> None:
    assert check_term("  бан ") == "бан"
    with pytest.raises(ValueError, match="whitespace"):
        check_term(" \t")
    with pytest.raises(ValueError, match=f"at most {MAX_TERM_LENGTH}"):
        check_term("я" * (MAX_TERM_LENGTH + 1))


def test_read_progress_ends_a_partition_at_eof_when_its_last_offsets_are_markers() -> None:
    progress = ReadProgress({0: 5, 1: 3, 2: 0})
    assert progress.pending == {0, 1}  # an empty partition is done at once
    progress.saw(0, 2)  # offsets 3 and 4: an aborted record and a commit marker
    progress.saw(1, 2)
    assert progress.pending == {0}
    progress.reached_eof(0)
    assert progress.done


def _record(partition: int, offset: int, term: str | None, value: str | None = None
            ) -> FakeMessage:
    key = None if term is None else term.encode()
    body = None if value is None else value.encode()
    return FakeMessage(partition, offset, key, body)


def _entry(term: str) -> str:
    return json.dumps({"term": term, "kind": "word"})


class _Follower:
    """load_and_follow on a scripted consumer; collects what it reports."""

    def __init__(self, cfg: LabConfig, monkeypatch: pytest.MonkeyPatch,
                 script: list[ScriptItem],
                 ends: dict[int, int]) -> None:
        monkeypatch.setattr(ban_topic, "_RETRY_BACKOFF_S", (0.01, 0.01))
        self.consumer = FakeConsumer(script)
        self.topic = BanTopic(cfg)
        monkeypatch.setattr(self.topic, "_consumer", lambda: self.consumer)
        monkeypatch.setattr(self.topic, "_end_offsets", lambda: ends)
        self.bans, self.stop = BanList(), threading.Event()
        self.errors: list[str] = []
        self.deaths: list[BaseException] = []

    def start(self, timeout_s: float = 5.0) -> threading.Thread:
        return self.topic.load_and_follow(self.bans, self.stop, self.errors.append,
                                          self.deaths.append, timeout_s)

    def run_script(self, thread: threading.Thread) -> None:
        wait_until(lambda: not self.consumer.script or not thread.is_alive(), timeout_s=5,
                   every_s=0.01, what="the scripted consumer's script played to its end")
        self.stop.set()
        thread.join(5)


def test_the_follower_goes_on_from_exactly_where_the_load_ended(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = threading.Event()
    follower = _Follower(tmp_cfg, monkeypatch, [
        _record(0, 0, "а", _entry("а")), _record(0, 1, "б", _entry("б")),
        _record(0, 2, "а"),  # tombstone; offsets 3 and 4 are aborted data and a marker
        eof(0, 5),
        loaded,  # the follower's first poll waits here
        _record(0, 5, "в", _entry("в")),  # written after the load's end
        _record(0, 6, "б"),
    ], ends={0: 5, 1: 0})
    thread = follower.start()
    assert follower.bans.terms("word") == ["б"]  # the load stopped at its end
    loaded.set()
    follower.run_script(thread)
    assert follower.bans.terms("word") == ["в"]
    assert len(follower.consumer.assignments) == 1  # one consumer, never re-assigned
    assert follower.consumer.closed and not follower.deaths and not follower.errors


def test_a_transient_error_is_reported_and_retried_not_fatal(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    down = KafkaError(KafkaError._ALL_BROKERS_DOWN)
    follower = _Follower(tmp_cfg, monkeypatch, [
        FakeMessage(0, 0, error=down), None, FakeMessage(0, 0, error=down),
        _record(0, 0, "а", _entry("а"))], ends={0: 0})
    follower.run_script(follower.start())
    assert follower.bans.terms("word") == ["а"]
    assert len(follower.errors) == 2 and "retrying in" in follower.errors[0]
    assert not follower.deaths


@pytest.mark.parametrize("ending", [
    FakeMessage(0, 0, error=KafkaError(KafkaError._FATAL, fatal=True)),
    RuntimeError("a bug in the follower"),
])
def test_a_fatal_error_or_a_crash_calls_on_death_once(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch,
        ending: FakeMessage | BaseException) -> None:
    follower = _Follower(tmp_cfg, monkeypatch, [ending, _record(0, 0, "а", _entry("а"))],
                         ends={0: 0})
    thread = follower.start()
    thread.join(5)
    assert not thread.is_alive() and len(follower.deaths) == 1
    assert follower.consumer.closed and follower.bans.terms("word") == []


def test_a_load_that_never_reaches_the_end_times_out_and_closes_its_consumer(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    follower = _Follower(tmp_cfg, monkeypatch, [_record(0, 0, "а", _entry("а"))],
                         ends={0: 2})
    with pytest.raises(LabTimeoutError, match="read to its end"):
        follower.start(timeout_s=0.2)
    assert follower.consumer.closed


def test_a_load_waits_through_a_transient_error_and_names_it_if_the_end_never_comes(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    down = KafkaError(KafkaError._ALL_BROKERS_DOWN)
    follower = _Follower(tmp_cfg, monkeypatch, [FakeMessage(0, 0, error=down),
                                                _record(0, 0, "а", _entry("а"))], ends={0: 2})
    with pytest.raises(LabTimeoutError, match=r"last error: KafkaException: .*ALL_BROKERS_DOWN"):
        follower.start(timeout_s=0.2)
    assert follower.bans.terms("word") == ["а"] and follower.consumer.closed


def test_a_fatal_error_during_the_load_is_raised_at_once(
        tmp_cfg: LabConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    fatal = KafkaError(KafkaError._FATAL, fatal=True)
    follower = _Follower(tmp_cfg, monkeypatch, [FakeMessage(0, 0, error=fatal)], ends={0: 2})
    with pytest.raises(KafkaException):
        follower.start(timeout_s=5)
    assert follower.consumer.closed
