"""All-or-nothing writes to ``ban-words``: one Kafka transaction per change of the ban list.

The ban-words API writes every request (one add, a whole bulk-add, one remove) as one
transaction under a fixed ``transactional.id``, so read_committed readers see all of it or
none of it. Failures are told apart by the error's flags, never by its text:

* abortable (``txn_requires_abort()``): the transaction is aborted, nothing is visible;
* fatal (``fatal()``) or fenced (a newer producer or an epoch bump, e.g. after a transaction
  timed out while the cluster was down): the producer is replaced under the same id
  (``init_transactions`` again) and the request retried once;
* retriable while committing: the commit is retried until the write timeout.

Anything that still fails raises :class:`~pokupai_lib.errors.BanWriteError`; the API answers
503 and changes nothing in its view.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, cast

from confluent_kafka import KafkaError, KafkaException, Producer
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from pokupai_lib.bans.topic import BanRecord
from pokupai_lib.config import LabConfig, Principal
from pokupai_lib.errors import BanWriteError, ProducerLost
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.faults import is_fenced

__all__ = ["BanWriter", "Recovery", "TransactionalProducer", "recovery_for"]

log = logging.getLogger(__name__)

Recovery = Literal["abort", "replace_producer", "retry_commit"]

class TransactionalProducer(Protocol):
    """The part of confluent-kafka's Producer that a transactional writer uses."""

    def init_transactions(self, timeout: float) -> None: ...
    def begin_transaction(self) -> None: ...
    def produce(self, topic: str, value: bytes | None, key: bytes) -> None: ...
    def commit_transaction(self, timeout: float) -> None: ...
    def abort_transaction(self, timeout: float) -> None: ...


def recovery_for(error: KafkaError) -> Recovery:
    """What a failed transaction step calls for, by the error's code and flags.

    Args:
        error: the error of ``init_transactions``, ``begin_transaction``, ``produce`` or
            ``commit_transaction``.

    Returns:
        ``"replace_producer"`` for a fatal or fenced producer, ``"abort"`` for an abortable
        error, ``"retry_commit"`` for a retriable one, and ``"abort"`` for anything else.
    """
    if is_fenced(error):
        return "replace_producer"
    if error.txn_requires_abort():
        return "abort"
    if error.retriable():
        return "retry_commit"
    return "abort"


class BanWriter:
    """Writes batches of ban records to ``ban-words``, each batch in one transaction.

    Not thread-safe: the caller serializes writes (the API holds its lock around them).
    """

    def __init__(self, topic: str, make_producer: Callable[[], TransactionalProducer],
                 timeout_s: float = 10.0) -> None:
        """Write to ``topic`` with producers from ``make_producer`` (same transactional id).

        ``timeout_s`` bounds each of init, commit and abort.
        """
        self.topic = topic
        self._make_producer = make_producer
        self._timeout_s = timeout_s
        self._producer: TransactionalProducer | None = None

    @classmethod
    def for_api(cls, cfg: LabConfig) -> BanWriter:
        """The ban-words API's writer: principal ``banwords-api``, its transactional id."""
        return cls.for_principal(cfg, "banwords-api", cfg.ban_api.transactional_id)

    @classmethod
    def for_principal(cls, cfg: LabConfig, principal: Principal,
                      transactional_id: str) -> BanWriter:
        """A writer as ``principal`` (``admin`` for the command line) under its own id."""
        conf = client_config(cfg, "primary", principal, **{
            "transactional.id": transactional_id, "acks": "all",
            "enable.idempotence": True, "linger.ms": 0})

        def make_producer() -> TransactionalProducer:
            return cast(TransactionalProducer, Producer(conf))  # confluent-kafka is untyped

        return cls(cfg.topics.ban_words, make_producer, cfg.ban_api.write_timeout_s)

    def start(self, timeout_s: float = 30.0) -> None:
        """Create the producer and fence any predecessor with the same transactional id.

        ``timeout_s`` is longer than a request's: on a new cluster the first transactional
        client waits for the broker to create ``__transaction_state``.

        Raises:
            BanWriteError: the transaction coordinator did not answer in time.
        """
        try:
            self._ready_producer(timeout_s)
        except ProducerLost as exc:
            raise BanWriteError(f"the ban-words producer could not start: {exc}") from exc

    def write(self, records: Sequence[BanRecord]) -> None:
        """Write ``records`` in one transaction: all become visible, or none.

        Raises:
            BanWriteError: the transaction was not committed; the message says whether it was
                aborted or its outcome is unknown, and what to do.
        """
        try:
            self._write_once(records)
        except ProducerLost as exc:
            log.warning("ban-words producer replaced after: %s", exc)
            try:
                self._write_once(records)
            except ProducerLost as again:
                raise BanWriteError(
                    f"ban-words is not writable now ({again}); the change was not committed, "
                    "retry when the primary cluster is back") from again

    def _ready_producer(self, timeout_s: float | None = None) -> TransactionalProducer:
        """The producer, created and initialized if there is none.

        Raises ProducerLost when the new producer is fenced or fatally broken at once, and
        BanWriteError when the coordinator does not answer (retrying here would only wait
        twice as long).
        """
        if self._producer is None:
            producer = self._make_producer()
            try:
                producer.init_transactions(timeout_s or self._timeout_s)
            except KafkaException as exc:
                if recovery_for(exc.args[0]) == "replace_producer":
                    raise ProducerLost(_text(exc)) from exc
                raise BanWriteError(f"ban-words transactions cannot start ({_text(exc)}); "
                                    "nothing was applied, retry when the primary cluster is "
                                    "available") from exc
            self._producer = producer
        return self._producer

    def _write_once(self, records: Sequence[BanRecord]) -> None:
        producer = self._ready_producer()
        try:
            producer.begin_transaction()
            for key, value in records:
                producer.produce(self.topic, value, key.encode())
            self._commit(producer)
        except KafkaException as exc:
            self._recover(producer, exc)
        except BaseException:
            self._producer = None  # in an unknown state: the next write starts a new one
            raise

    def _commit(self, producer: TransactionalProducer) -> None:
        """Commit, retrying a retriable failure until the write timeout; then re-raise it."""
        deadline = time.monotonic() + self._timeout_s
        retrying = Retrying(
            stop=stop_after_delay(self._timeout_s),
            wait=wait_fixed(0.1),  # some retriable errors return at once: do not spin
            retry=retry_if_exception(lambda exc: isinstance(exc, KafkaException)
                                     and recovery_for(exc.args[0]) == "retry_commit"),
            reraise=True)
        for attempt in retrying:
            with attempt:
                producer.commit_transaction(max(deadline - time.monotonic(), 0.1))

    def _recover(self, producer: TransactionalProducer, exc: KafkaException) -> None:
        """Undo a failed transaction; always raises (BanWriteError or ProducerLost)."""
        if recovery_for(exc.args[0]) == "replace_producer":
            self._producer = None
            raise ProducerLost(_text(exc)) from exc
        try:
            producer.abort_transaction(self._timeout_s)
        except KafkaException as abort_exc:
            # The next producer's init_transactions completes or aborts it, atomically.
            self._producer = None
            raise BanWriteError(
                f"the ban-words transaction failed ({_text(exc)}) and could not be aborted "
                f"({_text(abort_exc)}): it is applied entirely or not at all; list the bans "
                "to see which, and retry") from exc
        raise BanWriteError(f"the ban-words transaction was aborted ({_text(exc)}); nothing "
                            "was applied, retry when the primary cluster is available") from exc


def _text(exc: KafkaException) -> str:
    error = exc.args[0]
    return error.str() if isinstance(error, KafkaError) else str(error)
