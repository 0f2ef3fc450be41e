"""Which Kafka errors lie in a record and which in the cluster, decided by error code and flag.

A stream stage dead-letters a record only for a fault of the record itself; every other fault
(a broker or coordinator moving, a timeout, a fenced producer) is retried with the batch.
"""

from __future__ import annotations

import random

from confluent_kafka import KafkaError, KafkaException

__all__ = ["ZOMBIE_CODES", "Backoff", "is_fenced", "is_record_fault", "kafka_error"]

# The broker refuses this one record for good: retrying the batch would fail the same way.
_RECORD_FAULTS = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE, KafkaError.INVALID_RECORD,
    KafkaError.INVALID_MSG_SIZE,
})
# The transactional producer lost its epoch: only a new producer (init_transactions) goes on.
_FENCED = frozenset({
    KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH,
    KafkaError.INVALID_PRODUCER_ID_MAPPING,
})
# The consumer's static membership was taken by another process with the same instance id
# (librdkafka raises fatal consumer errors only for that fencing, as _FATAL).
ZOMBIE_CODES = frozenset({KafkaError.FENCED_INSTANCE_ID, KafkaError._FATAL})


def kafka_error(exc: BaseException) -> KafkaError | None:
    """The KafkaError inside a KafkaException (None for any other exception)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def is_record_fault(error: KafkaError | None) -> bool:
    """True when the broker refused a record for what it is (size, format)."""
    return error is not None and error.code() in _RECORD_FAULTS


def is_fenced(error: KafkaError | None) -> bool:
    """True when the producer must be replaced: fenced, epoch bumped, or any fatal error."""
    return error is not None and (error.fatal() or error.code() in _FENCED)


class Backoff:
    """Exponential delays with jitter, from ``first_s`` to ``max_s``; ``reset`` after a success
    so a lasting fault waits longer and longer but never loops hot."""

    def __init__(self, first_s: float = 0.5, max_s: float = 30.0) -> None:
        self.first_s, self.max_s = first_s, max_s
        self.attempt = 0

    def next_delay(self) -> float:
        delay: float = min(self.max_s, self.first_s * 2.0 ** self.attempt)
        self.attempt += 1
        return delay * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not cryptography

    def reset(self) -> None:
        self.attempt = 0
