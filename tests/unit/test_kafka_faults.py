"""Kafka errors classified by code and flag, not by the name of an exception class."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka import KafkaError, KafkaException

from pokupai_lib.errors import ProducerLost
from pokupai_lib.kafka.faults import (
    Backoff,
    Fault,
    call_within,
    classify,
    fault_of,
    is_fenced,
    is_record_fault,
    kafka_error,
)


def test_record_faults_are_the_brokers_refusals_of_one_record() -> None:
    assert is_record_fault(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    assert not is_record_fault(KafkaError(KafkaError._MSG_TIMED_OUT))
    assert not is_record_fault(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
    assert not is_record_fault(None)


def test_fencing_and_fatal_errors_need_a_new_producer() -> None:
    assert is_fenced(KafkaError(KafkaError._FENCED))
    assert is_fenced(KafkaError(KafkaError.INVALID_PRODUCER_EPOCH))
    assert is_fenced(KafkaError(KafkaError._TIMED_OUT, fatal=True))
    assert not is_fenced(KafkaError(KafkaError._TIMED_OUT, retriable=True))


def test_the_error_is_read_from_a_kafka_exception_only() -> None:
    error = KafkaError(KafkaError._FENCED)
    assert kafka_error(KafkaException(error)) is error
    assert kafka_error(RuntimeError("x")) is None


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(first_s=1, max_s=4)
    delays = [backoff.next_delay() for _ in range(4)]
    assert 0.8 <= delays[0] <= 1 and 3.2 <= delays[3] <= 4 and delays[2] > delays[1]
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_one_error_is_classified_like_an_exception_that_holds_it() -> None:
    assert fault_of(KafkaError(KafkaError.FENCED_INSTANCE_ID)) is Fault.CONSUMER_FENCED
    assert fault_of(KafkaError(KafkaError.PRODUCER_FENCED)) is Fault.PRODUCER_FENCED
    assert fault_of(KafkaError(KafkaError.NOT_COORDINATOR)) is Fault.OUTAGE
    assert fault_of(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, fatal=True)) is Fault.OTHER
    assert classify(KafkaException(KafkaError(KafkaError._TRANSPORT))) is Fault.OUTAGE


def test_an_outage_type_of_a_stage_counts_only_when_no_error_says_otherwise() -> None:
    class StageTimeout(Exception):
        pass

    assert classify(StageTimeout()) is Fault.OTHER
    assert classify(StageTimeout(), outage_types=(StageTimeout,)) is Fault.OUTAGE
    permanent = StageTimeout()
    permanent.__cause__ = KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    assert classify(permanent, outage_types=(StageTimeout,)) is Fault.OTHER


def test_jitter_only_shortens_a_wait() -> None:
    backoff = Backoff(first_s=2, max_s=8, jitter=0.5)
    assert 1 <= backoff.next_delay() <= 2
    assert 2 <= backoff.next_delay() <= 4


def test_a_call_that_outlives_its_timeout_is_given_up_as_a_lost_producer() -> None:
    release = threading.Event()
    with pytest.raises(ProducerLost, match="send_offsets_to_transaction outlived its 0 s"):
        call_within("send_offsets_to_transaction", release.wait, 0.0, grace_s=0.1)
    release.set()


def test_a_call_within_its_time_returns_or_raises_as_itself() -> None:
    done: list[int] = []
    call_within("commit_transaction", lambda: done.append(1), 1.0)
    assert done == [1]
    error = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    with pytest.raises(KafkaException) as raised:
        call_within("commit_transaction", lambda: (_ for _ in ()).throw(error), 1.0)
    assert raised.value is error
