"""Which Kafka faults the recommender outlives by rebuilding its app, and which end it."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka import KafkaError, KafkaException
from quixstreams.checkpointing.exceptions import CheckpointProducerTimeout
from quixstreams.internal_producer import KafkaProducerTransactionCommitFailed
from quixstreams.kafka.exceptions import KafkaBrokerUnavailableError, KafkaConsumerException

from pokupai_lib.errors import ProducerLost
from pokupai_lib.kafka.faults import Backoff, Fault, kafka_errors
from pokupai_lib.recommendations.recovery import AppRunner, classify
from pokupai_lib.runtime.exit_codes import ZOMBIE_EXIT_CODE

TXN_TIMEOUT_S = 60.0
FENCED = KafkaError(KafkaError._FENCED, "fenced", fatal=True)


def _kafka(code: int, **flags: bool) -> KafkaException:
    return KafkaException(KafkaError(code, "test", **flags))


def _raised_from(outer: Exception, inner: Exception) -> Exception:
    """``outer`` as ``raise outer from inner`` leaves it."""
    outer.__cause__ = inner
    return outer


def _during_cleanup(cleanup: Exception, original: Exception) -> Exception:
    """``cleanup`` as raised while ``original`` was being handled (Quix's exit stack)."""
    cleanup.__context__ = original
    return cleanup


@pytest.mark.parametrize("exc", [
    _kafka(KafkaError._TIMED_OUT, retriable=True),
    _kafka(KafkaError._STATE, txn_requires_abort=True),
    _kafka(KafkaError._MSG_TIMED_OUT),
    _kafka(KafkaError._TRANSPORT),
    _raised_from(KafkaProducerTransactionCommitFailed("all attempts failed"),
                 _kafka(KafkaError._TIMED_OUT, retriable=True)),
    KafkaBrokerUnavailableError("all brokers down for 120 s"),
    CheckpointProducerTimeout("3 messages failed to be produced"),
    ProducerLost("send_offsets_to_transaction outlived its 10 s timeout"),
])
def test_an_unreachable_cluster_or_a_transaction_that_cannot_commit_is_an_outage(
        exc: Exception) -> None:
    assert classify(exc) is Fault.OUTAGE


@pytest.mark.parametrize("code", [KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                  KafkaError.INVALID_PRODUCER_EPOCH])
def test_a_producer_fence_is_told_apart(code: int) -> None:
    assert classify(_kafka(code, fatal=True)) is Fault.PRODUCER_FENCED


@pytest.mark.parametrize("exc", [
    _kafka(KafkaError.FENCED_INSTANCE_ID, fatal=True),
    KafkaConsumerException(KafkaError(KafkaError._FATAL, "fenced")),
    _during_cleanup(_kafka(KafkaError._FENCED, fatal=True),
                    _kafka(KafkaError.FENCED_INSTANCE_ID, fatal=True)),
])
def test_a_consumer_fenced_by_its_static_membership_is_told_apart(exc: Exception) -> None:
    assert classify(exc) is Fault.CONSUMER_FENCED


@pytest.mark.parametrize("exc", [
    _kafka(KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, fatal=True),
    _kafka(KafkaError.MSG_SIZE_TOO_LARGE),
    ValueError("a bug"),
])
def test_what_a_rebuild_cannot_cure_is_not_an_outage(exc: Exception) -> None:
    assert classify(exc) is Fault.OTHER


def test_errors_are_found_along_the_cause_and_context_chain() -> None:
    exc = _raised_from(RuntimeError("wrapper"), _kafka(KafkaError._TRANSPORT))
    assert [e.code() for e in kafka_errors(exc)] == [KafkaError._TRANSPORT]


def test_the_backoff_doubles_to_its_cap_and_starts_over_after_a_healthy_run() -> None:
    backoff = Backoff(first_s=1, max_s=30, healthy_after_s=60)
    waits = [backoff.after_run(ran_for_s=5) for _ in range(7)]
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.after_run(ran_for_s=61) == 1
    assert backoff.after_run(ran_for_s=5) == 2


class FakeApp:
    """An app whose run() raises the given exception, or returns (as on SIGTERM)."""

    def __init__(self, exc: Exception | None) -> None:
        self.exc = exc

    def run(self) -> None:
        if self.exc is not None:
            raise self.exc


class RecordedStop(threading.Event):
    """A stop event whose waits return at once and are recorded; ``stop_after`` waits it is
    set, as by a SIGTERM during the backoff."""

    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__()
        self.waits: list[float | None] = []
        self.stop_after = stop_after

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if self.stop_after is not None and len(self.waits) >= self.stop_after:
            self.set()
        return self.is_set()


class Clock:
    """Monotonic time that moves ``step_s`` each time it is read: each run lasts one step."""

    def __init__(self, step_s: float) -> None:
        self.now, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


def _runner(*outcomes: Exception | None, run_s: float = 100.0,
            stop: RecordedStop | None = None) -> tuple[AppRunner, list[FakeApp], RecordedStop]:
    """A runner whose successive builds return apps with these outcomes."""
    pending = [FakeApp(exc) for exc in outcomes]
    built: list[FakeApp] = []
    stop = stop or RecordedStop()

    def build() -> FakeApp:
        built.append(pending.pop(0))
        return built[-1]

    runner = AppRunner(build, Backoff(1, 30, 60), TXN_TIMEOUT_S, clock=Clock(run_s),
                       stopping=stop)
    return runner, built, stop


def test_after_an_outage_a_new_app_is_built_after_a_wait_and_runs_until_sigterm() -> None:
    runner, built, stop = _runner(_kafka(KafkaError._TRANSPORT), KafkaBrokerUnavailableError(),
                                  None)
    assert runner.run() == 0
    assert len(built) == 3 and len(set(map(id, built))) == 3
    assert stop.waits == [1, 1]  # each failed run lasted 100 s, healthy: the wait starts over


def test_quick_failures_back_off_longer_and_longer() -> None:
    outage = _kafka(KafkaError._TRANSPORT)
    runner, _, stop = _runner(outage, outage, outage, None, run_s=1)
    assert runner.run() == 0
    assert stop.waits == [1, 2, 4]


def test_a_consumer_fenced_once_is_rebuilt_as_after_an_outage() -> None:
    runner, built, _ = _runner(_kafka(KafkaError.FENCED_INSTANCE_ID, fatal=True), None)
    assert runner.run() == 0
    assert len(built) == 2


def test_a_consumer_fenced_again_soon_is_a_zombie_and_is_not_rebuilt() -> None:
    fenced = _kafka(KafkaError.FENCED_INSTANCE_ID, fatal=True)
    runner, built, _ = _runner(fenced, fenced, None, run_s=5)
    assert runner.run() == ZOMBIE_EXIT_CODE
    assert len(built) == 2


def test_consumer_fences_far_apart_are_each_rebuilt() -> None:
    fenced = _kafka(KafkaError.FENCED_INSTANCE_ID, fatal=True)
    runner, built, _ = _runner(fenced, fenced, None, run_s=TXN_TIMEOUT_S * 2)
    assert runner.run() == 0 and len(built) == 3


def test_a_producer_fenced_after_its_transactions_could_time_out_is_rebuilt() -> None:
    runner, built, _ = _runner(KafkaException(FENCED), None, run_s=TXN_TIMEOUT_S + 1)
    assert runner.run() == 0 and len(built) == 2


def test_a_producer_fenced_sooner_than_any_transaction_could_time_out_is_a_zombie() -> None:
    runner, built, _ = _runner(KafkaException(FENCED), None, run_s=TXN_TIMEOUT_S - 1)
    assert runner.run() == ZOMBIE_EXIT_CODE and len(built) == 1


def test_after_a_rebuild_only_a_second_quick_fence_in_a_row_is_a_zombie() -> None:
    # The first quick fence after a rebuild may be this process's old producer aborting late.
    outage = _kafka(KafkaError._TRANSPORT)
    runner, built, _ = _runner(outage, KafkaException(FENCED), outage,
                               KafkaException(FENCED), KafkaException(FENCED), None, run_s=1)
    assert runner.run() == ZOMBIE_EXIT_CODE and len(built) == 5


def test_a_fault_that_is_not_an_outage_is_raised() -> None:
    runner, _, _ = _runner(ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        runner.run()


def test_a_failure_to_build_the_app_is_an_outage_too() -> None:
    failures = [_kafka(KafkaError._TRANSPORT)]

    def build() -> FakeApp:
        if failures:
            raise failures.pop()
        return FakeApp(None)

    stop = RecordedStop()
    assert AppRunner(build, Backoff(1, 30, 60), TXN_TIMEOUT_S, stopping=stop).run() == 0
    assert stop.waits == [1]


def test_a_stop_during_the_wait_ends_the_loop_without_a_new_app() -> None:
    runner, built, _ = _runner(_kafka(KafkaError._TRANSPORT), None,
                               stop=RecordedStop(stop_after=1))
    assert runner.run() == 0 and len(built) == 1
