"""The recommender commits when its input runs dry, and otherwise on Quix's schedule."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from quixstreams import Application

from pokupai_lib.errors import ProducerLost
from pokupai_lib.recommendations.app import AdaptiveCommitApplication, bound_send_offsets


class Polls:
    """Stands in for Quix's ``_process_message``: each call is one poll that gave a message
    (stored in the checkpoint) or nothing."""

    def __init__(self, results: list[bool]) -> None:
        self.results = results
        self.offset = 0

    def __call__(self, app: Application, _composed: Any) -> None:
        consumed = self.results.pop(0)
        if consumed:
            app._processing_context.store_offset("t", 0, self.offset)
            self.offset += 1
        app._run_tracker.set_message_consumed(consumed)


def _app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, polls: list[bool],
         idle_commit_s: float) -> tuple[AdaptiveCommitApplication, list[bool]]:
    app = AdaptiveCommitApplication(broker_address="localhost:1", consumer_group="g",
                                    state_dir=tmp_path, commit_interval=60,
                                    idle_commit_s=idle_commit_s, send_offsets_timeout_s=10)
    poll = Polls(polls)
    monkeypatch.setattr(Application, "_process_message",
                        lambda self, composed: poll(self, composed))
    forced: list[bool] = []
    monkeypatch.setattr(app._processing_context, "commit_checkpoint",
                        lambda force=False: forced.append(force))
    app._processing_context.init_checkpoint()
    return app, forced


def test_a_poll_that_finds_nothing_commits_what_was_processed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, forced = _app(tmp_path, monkeypatch, [True, True, False], idle_commit_s=0)
    for _ in range(3):
        app._process_message({})
    assert forced == [True]


def test_a_busy_stream_is_left_to_the_commit_interval(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, forced = _app(tmp_path, monkeypatch, [True] * 50, idle_commit_s=0)
    for _ in range(50):
        app._process_message({})
    assert forced == []


def test_nothing_processed_means_nothing_to_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, forced = _app(tmp_path, monkeypatch, [False, False], idle_commit_s=0)
    app._process_message({})
    app._process_message({})
    assert forced == []


def test_a_checkpoint_younger_than_the_idle_commit_age_waits_for_a_later_empty_poll(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, forced = _app(tmp_path, monkeypatch, [True, False], idle_commit_s=3600)
    app._process_message({})
    app._process_message({})
    assert forced == []


class StuckProducer:
    """Quix's producer wrapper whose ``send_offsets_to_transaction`` waits as librdkafka did
    for a restarted group coordinator: until released, whatever timeout it was given."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.timeouts: list[float | None] = []

    def send_offsets_to_transaction(self, positions: Any, group_metadata: Any,
                                    timeout: float | None = None) -> None:
        self.timeouts.append(timeout)
        self.release.wait()


def test_a_send_offsets_that_never_returns_loses_the_producer_after_the_bound() -> None:
    producer = StuckProducer()
    bound_send_offsets(producer, 0.05, grace_s=0.05)
    started = time.monotonic()
    with pytest.raises(ProducerLost, match="send_offsets_to_transaction"):
        producer.send_offsets_to_transaction([], None)  # as Quix calls it: no timeout
    producer.release.set()
    assert producer.timeouts == [0.05]  # librdkafka is asked to keep the bound too
    assert time.monotonic() - started < 5


def test_a_shorter_timeout_of_quix_is_kept_and_a_prompt_answer_passes() -> None:
    producer = StuckProducer()
    producer.release.set()
    bound_send_offsets(producer, 10.0)
    producer.send_offsets_to_transaction([], None, 2.0)
    producer.send_offsets_to_transaction([], None, -1)
    assert producer.timeouts == [2.0, 10.0]


def test_the_app_bounds_its_own_producer(tmp_path: Path) -> None:
    app = AdaptiveCommitApplication(broker_address="localhost:1", consumer_group="g",
                                    state_dir=tmp_path, idle_commit_s=0,
                                    send_offsets_timeout_s=7.0)
    quix_producer = app._producer._producer
    assert vars(quix_producer)["send_offsets_to_transaction"].__name__ == "bounded"
