"""Client searches recorded in ``client-searches`` (key id_client, JSON value), as ``client-api``.

Sending is asynchronous so a search never waits for Kafka; a background thread serves delivery
reports, and every failure is counted and logged with its reason (nothing is dropped silently).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message, Producer

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import InvalidInputError
from pokupai_lib.kafka.clients import client_config

__all__ = ["SearchEvent", "SearchRecorder", "parse_search_event"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchEvent:
    """One search as the design's contract writes it."""

    id_client: str
    word_search: str
    searched_at: str

    @classmethod
    def now(cls, id_client: str, word_search: str) -> SearchEvent:
        return cls(id_client, word_search,
                   datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"))

    def to_json(self) -> bytes:
        return orjson.dumps({"id_client": self.id_client, "word_search": self.word_search,
                             "searched_at": self.searched_at})


def parse_search_event(value: bytes) -> SearchEvent:
    """A search event from its JSON; raises InvalidInputError naming what is missing."""
    data: dict[str, Any] = orjson.loads(value)
    missing = [k for k in ("id_client", "word_search", "searched_at") if k not in data]
    if missing:
        raise InvalidInputError(f"search event lacks {', '.join(missing)}")
    return SearchEvent(str(data["id_client"]), str(data["word_search"]), str(data["searched_at"]))


class SearchRecorder:
    """An idempotent acks=all producer of search events with counted delivery outcomes.

    It replaces a producer that stopped delivering: after the whole primary cluster was gone
    for a minute, one kept every later event queued until it timed out, for good (seen in
    CI: no search recorded, so no recommendation, 20 minutes on). Events wait ``stuck_after_s``
    with nothing delivered; then the queued ones are taken from the old producer and sent
    again through a new one (an outage that lasts goes on holding them there). Each
    replacement that brings no delivery doubles that wait, up to ``max_stuck_after_s``, so a
    long outage leaves a few retired producers finishing their in-flight events, not one every
    ``stuck_after_s``.
    """

    def __init__(self, cfg: LabConfig, stuck_after_s: float = 30.0,
                 max_stuck_after_s: float = 240.0) -> None:
        self.topic = cfg.topics.client_searches
        # A search never waits for its event, so events can gather for 100 ms: far fewer,
        # larger produce requests for the brokers under load.
        self._conf = client_config(cfg, "primary", "client-api", **{
            "acks": "all", "enable.idempotence": True, "linger.ms": 100,
            "compression.type": "lz4"})
        self.producer = Producer(self._conf)
        self.stuck_after_s = stuck_after_s
        self.max_stuck_after_s = max_stuck_after_s
        self._patience_s = stuck_after_s  # grows while replacements bring no delivery
        self.delivered = 0
        self.failed = 0
        self.replaced = 0
        self.last_error: str | None = None
        self._progress_at = time.monotonic()  # the last delivery, or the last time idle
        self._retired: list[Producer] = []  # replaced ones: their late reports still count
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="search-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def record(self, event: SearchEvent) -> None:
        """Queue ``event``; raises BufferError only if the local queue is full."""
        self.producer.produce(self.topic, key=event.id_client.encode(), value=event.to_json(),
                              on_delivery=self._on_delivery)

    def _on_delivery(self, error: KafkaError | None, msg: Message) -> None:
        if error is None:
            self.delivered += 1
            self._progress_at = time.monotonic()
            self._patience_s = self.stuck_after_s
            return
        if error.code() == KafkaError._PURGE_QUEUE:  # taken from a stuck producer: again
            self.producer.produce(self.topic, key=msg.key(), value=msg.value(),
                                  on_delivery=self._on_delivery)
            return
        self.failed += 1
        self.last_error = error.str()
        log.error("search event for %s not recorded: %s", msg.key(), error.str())

    def _serve(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.2)
            for retired in self._retired:
                retired.poll(0)
            self._retired = [retired for retired in self._retired if len(retired)]
            if not len(self.producer):
                self._progress_at = time.monotonic()
            elif time.monotonic() - self._progress_at > self._patience_s:
                self._replace_producer()

    def _replace_producer(self) -> None:
        """A new producer, and the old one's queued events purged into it (in its delivery
        reports, served here); events already sent stay with the old one."""
        stuck, queued = self.producer, len(self.producer)
        self.producer = Producer(self._conf)
        self.replaced += 1
        self._progress_at = time.monotonic()
        log.warning("search events: nothing delivered for %.0f s with %d queued; sending them "
                    "again through a new producer", self._patience_s, queued)
        self._patience_s = min(2 * self._patience_s, self.max_stuck_after_s)
        stuck.purge(in_queue=True, in_flight=False, blocking=False)
        stuck.poll(0)  # its purge reports re-produce the events into the new producer
        self._retired.append(stuck)

    def close(self, timeout_s: float = 10.0) -> int:
        """Stop serving and flush; return how many events were still undelivered."""
        self._stop.set()
        self._thread.join(timeout=timeout_s)
        return int(self.producer.flush(timeout_s)) + sum(len(p) for p in self._retired)

    def stats(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed": self.failed,
                "queued": len(self.producer), "producers_replaced": self.replaced,
                "last_error": self.last_error}
