"""What a Kafka error means for a stream stage, decided by error code and flag, never by the
name or the text of an exception; and the one backoff every stage waits with.

One vocabulary for the filter (:mod:`pokupai_lib.ingest.app`), the recommender
(:mod:`pokupai_lib.recommendations.recovery`) and the ban-words writer:

* a **record fault** (:func:`is_record_fault`): the broker refuses one record for what it is;
  the filter dead-letters it, for the recommender it is a fault a rebuild cannot cure;
* an **outage** (:attr:`Fault.OUTAGE`): a broker or coordinator away or moving, a timeout, an
  abortable or fatal transaction; the batch is retried or the app rebuilt after a backoff;
* the **producer fenced** (:attr:`Fault.PRODUCER_FENCED`): its epoch was bumped, by the
  coordinator after a transaction outlived its timeout or by a second instance with the same
  transactional id; :func:`is_fenced` says when a new producer is needed (fenced or fatal);
* the **consumer fenced** (:attr:`Fault.CONSUMER_FENCED`): its static membership was given to
  another member with the same instance id;
* anything else (:attr:`Fault.OTHER`): an authorization error, a bad argument, a bug.
"""

from __future__ import annotations

import enum
import math
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException

from pokupai_lib.errors import ProducerLost

__all__ = [
    "Backoff",
    "Fault",
    "call_within",
    "classify",
    "coordinator_moving",
    "fault_of",
    "is_fenced",
    "is_record_fault",
    "kafka_error",
    "kafka_errors",
    "leadership_moving",
    "send_offsets_within",
]


class Fault(enum.Enum):
    """What a Kafka fault means for a stream stage."""

    OUTAGE = "outage"
    PRODUCER_FENCED = "producer fenced"
    CONSUMER_FENCED = "consumer fenced"
    OTHER = "other"


# The broker refuses this one record for good: retrying the batch would fail the same way.
_RECORD_FAULTS = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE, KafkaError.INVALID_RECORD,
    KafkaError.INVALID_MSG_SIZE,
})
# The transactional producer lost its epoch: only a new producer (init_transactions) goes on.
_PRODUCER_FENCED = frozenset({
    KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH,
})
# The broker no longer knows the producer id: a new producer goes on, and nobody fenced it.
_PRODUCER_ID_LOST = frozenset({KafkaError.INVALID_PRODUCER_ID_MAPPING})
# The consumer's static membership was taken by another process with the same instance id
# (librdkafka raises fatal consumer errors only for that fencing, as _FATAL).
_CONSUMER_FENCED = frozenset({KafkaError.FENCED_INSTANCE_ID, KafkaError._FATAL})
# A group's coordinator moving or loading (after a broker restart).
_COORDINATOR_MOVING = frozenset({
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
})
# A partition's leader changing.
_LEADERSHIP_MOVING = frozenset({
    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.FENCED_LEADER_EPOCH, KafkaError.UNKNOWN_LEADER_EPOCH,
})
# Errors neither retriable nor fatal by their flags that an unavailable cluster still causes.
_OUTAGE_CODES = _COORDINATOR_MOVING | frozenset({
    KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError._TIMED_OUT_QUEUE,
    KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._WAIT_COORD,
    KafkaError.REQUEST_TIMED_OUT, KafkaError.NETWORK_EXCEPTION,
    KafkaError.CONCURRENT_TRANSACTIONS, KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.NOT_ENOUGH_REPLICAS,
    KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    # A consumer whose session expired during the outage sends stale group metadata.
    KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS,
})
# Faults that retrying or rebuilding cannot cure, whatever their flags (an ACL missing, a
# record too big, a bad setting).
_PERMANENT_CODES = _RECORD_FAULTS | frozenset({
    KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.SASL_AUTHENTICATION_FAILED, KafkaError._AUTHENTICATION, KafkaError._INVALID_ARG,
})


def kafka_error(exc: BaseException) -> KafkaError | None:
    """The KafkaError inside a KafkaException (None for any other exception)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or while handling, each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def kafka_errors(exc: BaseException) -> list[KafkaError]:
    """The KafkaError objects along ``exc``'s ``__cause__``/``__context__`` chain: inside a
    KafkaException, or held as ``error`` (Quix's ``BaseKafkaException``, which this package
    does not import: the filter does not load Quix)."""
    errors = []
    for current in _chain(exc):
        error = kafka_error(current)
        if error is None and isinstance(getattr(current, "error", None), KafkaError):
            error = current.error  # type: ignore[attr-defined]
        if error is not None:
            errors.append(error)
    return errors


def is_record_fault(error: KafkaError | None) -> bool:
    """True when the broker refused a record for what it is (size, format)."""
    return error is not None and error.code() in _RECORD_FAULTS


def is_fenced(error: KafkaError | None) -> bool:
    """True when the transactional producer must be replaced: fenced, its producer id
    unknown to the broker, or any fatal error."""
    return error is not None and (error.fatal()
                                  or error.code() in _PRODUCER_FENCED | _PRODUCER_ID_LOST)


def coordinator_moving(error: KafkaError) -> bool:
    """True while a group's coordinator is moving or loading (after a broker restart)."""
    return error.code() in _COORDINATOR_MOVING


def leadership_moving(error: KafkaError) -> bool:
    """True for the errors of a partition whose leader is changing. By code, because the
    errors librdkafka raises from watermark queries do not carry its retriable flag."""
    return error.code() in _LEADERSHIP_MOVING


def _is_outage(error: KafkaError) -> bool:
    return bool(error.retriable() or error.txn_requires_abort() or error.fatal()
                or error.code() in _OUTAGE_CODES)


def _verdict(errors: list[KafkaError]) -> Fault | None:
    """What these errors mean together; None when none of them says anything.

    A consumer fence wins over everything (a cleanup error after it must not hide it), then
    a permanent fault, then a producer fence, then an outage.
    """
    codes = {error.code() for error in errors}
    if codes & _CONSUMER_FENCED:
        return Fault.CONSUMER_FENCED
    if codes & _PERMANENT_CODES:
        return Fault.OTHER
    if codes & _PRODUCER_FENCED:
        return Fault.PRODUCER_FENCED
    if any(_is_outage(error) for error in errors):
        return Fault.OUTAGE
    return None


def fault_of(error: KafkaError) -> Fault:
    """What one KafkaError means (a consumer's message error, a delivery report)."""
    return _verdict([error]) or Fault.OTHER


def classify(exc: BaseException,
             outage_types: tuple[type[BaseException], ...] = ()) -> Fault:
    """What an exception means, by the codes and flags of every KafkaError along its chain.

    Args:
        exc: the exception that failed the batch or ended the run.
        outage_types: a stage's own exception types that mean an outage though they carry no
            KafkaError (the recommender passes Quix's).
    """
    verdict = _verdict(kafka_errors(exc))
    if verdict is not None:
        return verdict
    if outage_types and any(isinstance(current, outage_types) for current in _chain(exc)):
        return Fault.OUTAGE
    return Fault.OTHER


@dataclass
class Backoff:
    """Waits that double from ``first_s`` to ``max_s``, so a lasting fault waits longer and
    longer but never loops hot.

    ``reset`` after a success; :meth:`after_run` resets by itself after a run that lasted
    ``healthy_after_s``. ``jitter`` shortens each wait by a random share of up to that much,
    so that processes failing together do not retry in step.
    """

    first_s: float = 0.5
    max_s: float = 30.0
    healthy_after_s: float = math.inf
    jitter: float = 0.0
    attempt: int = 0

    def next_delay(self) -> float:
        """The next wait, twice the last one up to ``max_s``."""
        delay: float = min(self.max_s, self.first_s * 2.0 ** self.attempt)
        self.attempt += 1
        if self.jitter:
            delay *= random.uniform(1.0 - self.jitter, 1.0)  # noqa: S311 - not cryptography
        return delay

    def reset(self) -> None:
        """Start again from ``first_s``."""
        self.attempt = 0

    def after_run(self, ran_for_s: float) -> float:
        """The wait before the next run, after a run that lasted ``ran_for_s``."""
        if ran_for_s >= self.healthy_after_s:
            self.reset()
        return self.next_delay()


def call_within(what: str, call: Callable[[], object], timeout_s: float,
                grace_s: float = 5.0) -> None:
    """Run a transactional producer call that was given ``timeout_s``, and stop waiting for it
    ``grace_s`` after that: raises :class:`~pokupai_lib.errors.ProducerLost` (only a new
    producer can go on) if it has not returned, else whatever the call raised.

    librdkafka does not always keep such a timeout: ``send_offsets_to_transaction`` waited for
    a restarted group coordinator for minutes (seen twice after a two-broker restart; its
    issues 5456 and 5511). The call is left behind in its thread, on a producer the new one
    fences.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed over to the caller's thread
            raised.append(exc)

    worker = threading.Thread(target=run, name=what, daemon=True)
    worker.start()
    worker.join(timeout_s + grace_s)
    if worker.is_alive():
        raise ProducerLost(f"{what} outlived its {timeout_s:.0f} s timeout")
    if raised:
        raise raised[0]


def send_offsets_within(send: Callable[..., object], offsets: object, group: object,
                        timeout_s: float, grace_s: float = 5.0) -> None:
    """``send(offsets, group, timeout_s)`` (a producer's ``send_offsets_to_transaction``),
    given up ``grace_s`` after its timeout: after a restart or move of the group coordinator
    librdkafka waited for ever in it (issues 5511, 5456); raises ProducerLost then."""
    call_within("send_offsets_to_transaction", lambda: send(offsets, group, timeout_s),
                timeout_s, grace_s)
