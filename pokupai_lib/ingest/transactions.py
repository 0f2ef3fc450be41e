"""The filter's transactional producer: one transaction per batch or ban pass, every call
bounded, and a new producer under the same transactional id whenever the old one is lost.

A fencing alone does not tell an outage from a second instance; the filter's consumer group
does (a second instance takes over its static membership), so this module only replaces.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from pokupai_lib.config.services import FilterConfig
from pokupai_lib.kafka.faults import (
    Backoff,
    call_within,
    is_fenced,
    kafka_error,
    send_offsets_within,
)

__all__ = ["TransactionalWriter", "filter_backoff"]

log = logging.getLogger("pokupai_lib.filter")


def filter_backoff(settings: FilterConfig) -> Backoff:
    """The filter's waits between redone batches and retried calls, with jitter."""
    return Backoff(settings.backoff_first_s, settings.backoff_max_s, jitter=0.2)


class TransactionalWriter:
    """A transactional producer with the filter's settings; ``stop`` ends its retries and
    ``waiting`` is called while it waits out an outage (which is no stall)."""

    def __init__(self, conf: dict[str, Any], settings: FilterConfig, stop: threading.Event,
                 waiting: Callable[[], None]) -> None:
        self.settings = settings
        self.stop = stop
        self.waiting = waiting
        self._conf = conf | {
            "transactional.id": settings.transactional_id, "acks": "all",
            # Batches fill within a transaction (its flush sends what lingers at once), so a
            # long linger costs no latency and gives fewer, larger, better compressed requests.
            "enable.idempotence": True, "linger.ms": 100,
            "compression.type": settings.compression, "batch.size": 1_000_000,
            "queue.buffering.max.messages": 200_000,
            "transaction.timeout.ms": settings.transaction_timeout_ms}
        self.producer = Producer(self._conf)

    def begin(self) -> None:
        self.producer.begin_transaction()

    def produce(self, topic: str, value: bytes | None, key: bytes | None, **kwargs: object
                ) -> None:
        while True:
            try:
                self.producer.produce(topic, value, key, **kwargs)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self.producer.poll(0.1)

    def flush(self) -> None:
        self.producer.flush(self.settings.transaction_timeout_ms / 1000)

    def commit(self, offsets: list[TopicPartition] | None = None, group: object = None) -> None:
        """Commit the open transaction, with the consumer's ``offsets`` when given.

        Bounded: without a timeout both calls wait forever for a coordinator that an outage
        took away (seen: a filter hung for minutes after the cluster came back), and not left
        to librdkafka alone, which does not always keep it (see ``call_within``).
        """
        timeout_s = self.settings.transaction_call_timeout_s
        if offsets:
            send_offsets_within(self.producer.send_offsets_to_transaction, offsets, group,
                                self.settings.send_offsets_timeout_s)
        call_within("commit_transaction",
                    functools.partial(self.producer.commit_transaction, timeout_s), timeout_s)

    def abort(self) -> bool:
        """Abort the open transaction; False when only a new producer can go on."""
        try:
            self.producer.abort_transaction(self.settings.transaction_call_timeout_s)
            return True
        except KafkaException as exc:
            error = kafka_error(exc)
            if error is not None and error.code() == KafkaError._STATE:
                return True  # no transaction was open (begin_transaction itself failed)
            log.warning("abort failed (%s); replacing the producer", exc)
            return False

    def replace(self, why: str) -> None:
        """A new producer under the same transactional id: init_transactions aborts what the
        old one left open and bumps the epoch."""
        log.warning("replacing the transactional producer (%s)", why)
        self.producer = Producer(self._conf)
        self.init_transactions()

    def init_transactions(self) -> None:
        """init_transactions, retried with backoff while the cluster cannot answer."""
        backoff = filter_backoff(self.settings)
        while not self.stop.is_set():
            try:
                self.producer.init_transactions(60)
                return
            except KafkaException as exc:
                if is_fenced(kafka_error(exc)):
                    self.producer = Producer(self._conf)
                delay = backoff.next_delay()
                log.warning("init_transactions failed (%s); again in %.1f s", exc, delay)
                self.stop.wait(delay)
                self.waiting()
