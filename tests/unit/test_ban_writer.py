"""The ban-words writer's transactions and failure handling, with a fake producer."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError
from kafka_fakes import FakeTransactionalProducer

from pokupai_lib.bans.writer import BanWriter, recovery_for
from pokupai_lib.errors import BanWriteError

RECORDS = [("бан", '{"term": "бан"}'.encode()), ("sku:A-1", None)]


def _writer(*producers: FakeTransactionalProducer) -> BanWriter:
    queue = list(producers)
    return BanWriter("ban-words", lambda: queue.pop(0), timeout_s=0.2)


@pytest.mark.parametrize(("error", "recovery"), [
    (KafkaError(KafkaError._FENCED, fatal=True), "replace_producer"),
    (KafkaError(KafkaError.PRODUCER_FENCED), "replace_producer"),
    (KafkaError(KafkaError.INVALID_PRODUCER_EPOCH), "replace_producer"),
    (KafkaError(KafkaError._FATAL, fatal=True), "replace_producer"),
    (KafkaError(KafkaError.NOT_ENOUGH_REPLICAS, txn_requires_abort=True), "abort"),
    (KafkaError(KafkaError._TIMED_OUT, retriable=True), "retry_commit"),
    (KafkaError(KafkaError._STATE), "abort"),
])
def test_errors_are_classified_by_code_and_flags(error: KafkaError, recovery: str) -> None:
    assert recovery_for(error) == recovery


def test_a_batch_is_one_committed_transaction() -> None:
    producer = FakeTransactionalProducer()
    writer = _writer(producer)
    writer.start()
    writer.write(RECORDS)
    assert producer.calls == ["init", "begin", "commit"]
    assert producer.committed == [[(key.encode(), value) for key, value in RECORDS]]


def test_an_abortable_error_aborts_and_nothing_is_committed() -> None:
    producer = FakeTransactionalProducer({"commit": [
        KafkaError(KafkaError.NOT_ENOUGH_REPLICAS, txn_requires_abort=True)]})
    writer = _writer(producer)
    with pytest.raises(BanWriteError, match=r"aborted .*nothing was applied"):
        writer.write(RECORDS)
    assert producer.calls == ["init", "begin", "commit", "abort"]
    assert producer.committed == []
    writer.write(RECORDS)  # the same producer goes on
    assert len(producer.committed) == 1


def test_a_fenced_producer_is_replaced_and_the_request_retried_once() -> None:
    fenced = FakeTransactionalProducer({"commit": [KafkaError(KafkaError._FENCED, fatal=True)]})
    fresh = FakeTransactionalProducer()
    writer = _writer(fenced, fresh)
    writer.write(RECORDS)
    assert fenced.committed == [] and "abort" not in fenced.calls
    assert fresh.calls == ["init", "begin", "commit"] and len(fresh.committed) == 1


def test_fenced_twice_is_a_503_error_and_the_next_request_starts_afresh() -> None:
    fatal = KafkaError(KafkaError._FATAL, fatal=True)
    writer = _writer(FakeTransactionalProducer({"begin": [fatal]}),
                     FakeTransactionalProducer({"commit": [fatal]}),
                     FakeTransactionalProducer())
    with pytest.raises(BanWriteError, match="not writable now"):
        writer.write(RECORDS)
    writer.write(RECORDS)


def test_a_retriable_commit_is_retried_until_it_commits() -> None:
    producer = FakeTransactionalProducer({"commit": [
        KafkaError(KafkaError._TIMED_OUT, retriable=True)]})
    _writer(producer).write(RECORDS)
    assert producer.calls == ["init", "begin", "commit", "commit"]
    assert len(producer.committed) == 1


def test_an_unabortable_failure_says_the_outcome_is_all_or_nothing_and_drops_the_producer(
        ) -> None:
    timed_out = KafkaError(KafkaError._TIMED_OUT, retriable=True)
    stuck = FakeTransactionalProducer({"commit": [timed_out] * 100,
                                       "abort": [KafkaError(KafkaError._STATE)]})
    fresh = FakeTransactionalProducer()
    writer = _writer(stuck, fresh)
    with pytest.raises(BanWriteError, match="entirely or not at all"):
        writer.write(RECORDS)
    writer.write(RECORDS)
    assert fresh.calls == ["init", "begin", "commit"]


def test_a_coordinator_that_does_not_answer_is_a_503_error_without_retry() -> None:
    producer = FakeTransactionalProducer({"init": [
        KafkaError(KafkaError._TIMED_OUT, retriable=True)]})
    writer = _writer(producer, FakeTransactionalProducer())
    with pytest.raises(BanWriteError, match="cannot start"):
        writer.write(RECORDS)
    assert producer.calls == ["init"]
    writer.write(RECORDS)  # the next request tries a new producer
