"""Which Kafka errors the readers treat as a moving leader or coordinator worth waiting out."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

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
