"""Stand-ins for confluent-kafka's Producer, Consumer and Message, for broker-free tests."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException


class FakeTransactionalProducer:
    """Records transactions; raises the given errors from the given steps, in turn."""

    def __init__(self, fail: dict[str, list[KafkaError]] | None = None) -> None:
        self.fail = {step: list(errors) for step, errors in (fail or {}).items()}
        self.committed: list[list[tuple[bytes, bytes | None]]] = []
        self.open: list[tuple[bytes, bytes | None]] | None = None
        self.calls: list[str] = []

    def _step(self, name: str) -> None:
        self.calls.append(name)
        errors = self.fail.get(name)
        if errors:
            raise KafkaException(errors.pop(0))

    def init_transactions(self, timeout: float) -> None:
        self._step("init")

    def begin_transaction(self) -> None:
        self._step("begin")
        self.open = []

    def produce(self, topic: str, value: bytes | None, key: bytes) -> None:
        assert self.open is not None, "produce outside a transaction"
        self.open.append((key, value))

    def commit_transaction(self, timeout: float) -> None:
        self._step("commit")
        assert self.open is not None
        self.committed.append(self.open)
        self.open = None

    def abort_transaction(self, timeout: float) -> None:
        self._step("abort")
        self.open = None


class FakeMessage:
    """A consumed record, or an error event when ``error`` is given."""

    def __init__(self, partition: int, offset: int, key: bytes | None = None,
                 value: bytes | None = None, error: KafkaError | None = None) -> None:
        self._partition, self._offset = partition, offset
        self._key, self._value, self._error = key, value, error

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> KafkaError | None:
        return self._error

    def headers(self) -> list[tuple[str, bytes]] | None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, 0)  # TIMESTAMP_CREATE_TIME, the epoch


def eof(partition: int, offset: int) -> FakeMessage:
    """The end-of-partition event librdkafka sends at the partition's (stable) end."""
    return FakeMessage(partition, offset, error=KafkaError(KafkaError._PARTITION_EOF))


ScriptItem = FakeMessage | BaseException | threading.Event | None


class FakeConsumer:
    """Hands out a script of messages, one per poll (None when it runs out).

    An exception in the script is raised by that poll; an Event makes that poll wait until it
    is set, then return None.
    """

    def __init__(self, script: Iterable[ScriptItem]) -> None:
        self.script = list(script)
        self.assignments: list[list[Any]] = []
        self.closed = False

    def assign(self, partitions: list[Any]) -> None:
        self.assignments.append(partitions)

    def poll(self, timeout: float) -> FakeMessage | None:
        if not self.script:
            return None
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, threading.Event):
            item.wait(5)
            return None
        return item

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[FakeMessage]:
        """Like librdkafka: up to ``num_messages`` of the script, stopping at a None (a
        timeout) or an Event; an exception is raised."""
        batch: list[FakeMessage] = []
        while len(batch) < num_messages:
            message = self.poll(timeout)
            if message is None:
                break
            batch.append(message)
        return batch

    def close(self) -> None:
        self.closed = True
