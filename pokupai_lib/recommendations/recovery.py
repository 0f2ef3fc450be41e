"""How the recommender outlives a Kafka outage, and the one fault it must not outlive.

What Quix Streams 3.28.1 does (read in its source):

* ``Application.run`` (``app.py``) runs ``_run_dataframe`` inside an ``ExitStack``; it retries
  nothing itself. On any exception ``_exception_handler`` calls ``stop(fail=True)``, closing the
  consumer revokes its partitions without committing (``_on_revoke`` skips the checkpoint once
  ``_failed``), the state stores are closed (their RocksDB locks released) and
  ``ProcessingContext.__exit__`` (``processing/context.py``) aborts the open transaction with a
  5 s budget. Then the exception leaves ``run()``, or an exception of that cleanup (aborting
  with a fenced producer, closing a fenced consumer) does, with the first one as its
  ``__context__``.
* A checkpoint (``Checkpoint.commit``, ``checkpointing/checkpoint.py``) flushes the producer:
  a delivery error (``_MSG_TIMED_OUT`` when the cluster stayed away) is raised as
  ``KafkaProducerDeliveryError`` (``InternalProducer._raise_for_error``), messages still
  unsent after ``flush_timeout`` (``max.poll.interval.ms``) as ``CheckpointProducerTimeout``.
  Then ``InternalProducer.commit_transaction`` (``internal_producer.py``) sends the offsets and
  commits through ``_retry_transaction_op``: an error with ``retriable()`` (``_TIMED_OUT`` while
  the coordinator is away) is tried 3 times, 1 s apart, then becomes
  ``KafkaProducerTransactionCommitFailed`` (the ``KafkaException`` as its ``__cause__``); any
  other error propagates at once as the raw ``confluent_kafka.KafkaException``: abortable
  (``txn_requires_abort()``) or fatal (``fatal()``; librdkafka reports PRODUCER_FENCED and
  INVALID_PRODUCER_EPOCH, which is also what a producer gets after the coordinator aborted
  its transaction for outliving ``transaction.timeout.ms`` and bumped its epoch, as
  ``_FENCED``). An empty checkpoint is closed by an abort (``Checkpoint.close``, a 30 s
  budget) whose last retriable error is re-raised; the next ``begin_transaction`` of a fenced
  producer raises its fatal error. Quix never aborts and retries an abortable transaction, nor
  re-creates a fenced producer.
* A fatal error reported by librdkafka's error callback is raised by confluent-kafka as a
  fatal ``KafkaException`` with the underlying code from whichever ``poll()``/``flush()``
  serves it: the producer's (``InternalProducer.poll``: ``on_producer_error``, whose default
  logs and re-raises) or the consumer's (``InternalConsumer.poll_row``: ``on_consumer_error``,
  the same). A consumer with ``group.instance.id`` replaced by a second instance gets
  FENCED_INSTANCE_ID this way, or ``_FATAL`` in a message (``KafkaConsumerException``) or from
  a later consumer call; librdkafka raises no other fatal consumer error.
* Brokers all unreachable for ``broker_availability_timeout`` (120 s) stop the loop with
  ``KafkaBrokerUnavailableError`` (``raise_if_broker_unavailable`` of the producer and the
  consumer); building an app's topics during an outage fails in the admin client
  (``KafkaException`` ``_TRANSPORT``/``_TIMED_OUT``, ``CreateTopicTimeout``).

What we do (:class:`AppRunner`): classify the fault by its ``KafkaError`` codes and flags along
the exception's ``__cause__``/``__context__`` chain (:func:`classify`, with the vocabulary of
:mod:`pokupai_lib.kafka.faults` that the filter uses too), then

* an **outage** (a retriable, abortable or fatal error, a timeout or a lost broker): build a
  new Application after a backoff. Its producer re-initialises the same ``transactional.id``
  (aborting whatever the old one left open), its consumer rejoins under the same
  ``group.instance.id`` from the committed offsets, and the stores are restored from their
  changelogs: processing goes on exactly once;
* the **producer fenced**: the same rebuild, unless the fence can only come from a second
  instance. The coordinator aborts a transaction only once it is older than
  ``transaction.timeout.ms``, so a run younger than that was fenced by another producer with
  our id: in the process's first run, or twice in a row (a rebuilt run's first fence may
  come from the previous producer of this process finishing its abort late);
* a **zombie**: the consumer fenced (FENCED_INSTANCE_ID or ``_FATAL``) twice within two
  transaction timeouts (once is rebuilt: after an outage the group can fence a static member
  that rejoined, with no other instance), or the producer fenced as above: one log line and
  :data:`ZOMBIE_EXIT_CODE`, which the supervisor does not restart. Rebuilding would fence the
  live instance in turn;
* anything else (an authorization error, a record too large, a bug): re-raised, because
  rebuilding would only meet it again.

The backoff doubles from 1 s up to 30 s and starts again from 1 s after a run that lasted the
healthy period (60 s).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Protocol

from quixstreams.checkpointing.exceptions import CheckpointProducerTimeout
from quixstreams.internal_producer import KafkaProducerTransactionCommitFailed
from quixstreams.kafka.exceptions import KafkaBrokerUnavailableError
from quixstreams.models.topics.exceptions import CreateTopicTimeout

from pokupai_lib.errors import ProducerLost
from pokupai_lib.kafka import faults
from pokupai_lib.kafka.faults import Backoff, Fault
from pokupai_lib.runtime.exit_codes import ZOMBIE_EXIT_CODE

__all__ = ["AppRunner", "Runnable", "classify"]

log = logging.getLogger("pokupai_lib.recommender")

# Quix's own exceptions for an outage that carry no KafkaError of their own, and ours for a
# producer call that outlived its bound (``call_within``).
_OUTAGE_EXCEPTIONS = (KafkaBrokerUnavailableError, CheckpointProducerTimeout,
                      KafkaProducerTransactionCommitFailed, CreateTopicTimeout, ProducerLost)


def classify(exc: BaseException) -> Fault:
    """What the exception that ended a run (``Application.run`` or building the app) means:
    :func:`pokupai_lib.kafka.faults.classify`, knowing Quix's outage exceptions."""
    return faults.classify(exc, outage_types=_OUTAGE_EXCEPTIONS)


class Runnable(Protocol):
    """What :class:`AppRunner` runs: a Quix ``Application``."""

    def run(self) -> object: ...


class AppRunner:
    """Runs an app built by ``build`` until a signal stops it, rebuilding it after an outage.

    Parameters:
        build: makes a new app (a new Application: new consumer, new producer).
        backoff: the waits between rebuilds.
        transaction_timeout_s: the producer's ``transaction.timeout.ms``, in seconds.
        on_rebuild: called before each rebuild (a metric).
        clock: monotonic seconds; stopping: set by a signal between runs (both for tests).
    """

    def __init__(self, build: Callable[[], Runnable], backoff: Backoff,
                 transaction_timeout_s: float, on_rebuild: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.monotonic,
                 stopping: threading.Event | None = None) -> None:
        self.build = build
        self.backoff = backoff
        self.transaction_timeout_s = transaction_timeout_s
        self.on_rebuild = on_rebuild
        self.clock = clock
        self.stopping = stopping or threading.Event()

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (0) or until another instance takes over
        (:data:`ZOMBIE_EXIT_CODE`); a fault that is not an outage is re-raised."""
        first_run, young_fence_before = True, False
        consumer_fenced_at: float | None = None
        while not self.stopping.is_set():
            started = self.clock()
            try:
                app = self.build()
                if self.stopping.is_set():
                    break
                app.run()  # returns on SIGTERM/SIGINT after the last checkpoint is committed
                return 0
            except Exception as exc:
                ran_for_s = self.clock() - started
                fault = classify(exc)
                young_fence = (fault is Fault.PRODUCER_FENCED
                               and ran_for_s < self.transaction_timeout_s)
                # After an outage the group can fence a static member that rejoined (seen after
                # a 65 s outage, with no other instance): once is rebuilt; twice within two
                # transaction timeouts means another live instance keeps taking our place.
                fenced_again = (fault is Fault.CONSUMER_FENCED and consumer_fenced_at is not None
                                and self.clock() - consumer_fenced_at
                                < 2 * self.transaction_timeout_s)
                if fault is Fault.CONSUMER_FENCED:
                    consumer_fenced_at = self.clock()
                if fenced_again or (young_fence and (first_run or young_fence_before)):
                    log.error("another recommender with our transactional.id / "
                              "group.instance.id took over (%s); exiting with code %d, not to "
                              "be restarted", exc, ZOMBIE_EXIT_CODE)
                    return ZOMBIE_EXIT_CODE
                if fault is Fault.OTHER:
                    raise
                first_run, young_fence_before = False, young_fence
                self._wait_before_rebuild(exc, ran_for_s)
        return 0

    def _wait_before_rebuild(self, exc: Exception, ran_for_s: float) -> None:
        wait_s = self.backoff.after_run(ran_for_s)
        log.warning("Kafka fault after %.0f s (%s: %s); rebuilding the app in %.0f s",
                    ran_for_s, type(exc).__name__, exc, wait_s)
        self.on_rebuild()
        self.stop_on_signals()  # Quix's handlers would only stop the app that just failed
        self.stopping.wait(wait_s)

    def stop_on_signals(self) -> None:
        """Let SIGTERM and SIGINT end the loop while no app is running (main thread only)."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.stopping.set())
