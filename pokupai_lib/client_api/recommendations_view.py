"""The client API's view of ``SEARCHES_WITH_PRODUCTS``: each client's latest recommendations.

Rebuilt from the topic at start (secondary cluster, as ``client-api``) and following its tail,
like the ban-words API's view of ``ban-words``; nothing is stored anywhere else.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.clients import client_config

__all__ = ["RecommendationsView"]

log = logging.getLogger(__name__)


class RecommendationsView:
    """The last ``kept_per_client`` recommendations of every client, newest last."""

    def __init__(self, cfg: LabConfig) -> None:
        self.topic = cfg.recommender.searches_with_products
        self.kept = cfg.recommender.kept_per_client
        self.consumer = Consumer(client_config(cfg, cfg.mirror.target, "client-api", **{
            "group.id": "client-api.recommendations", "enable.auto.commit": False,
            "isolation.level": "read_committed"}))
        self.by_client: dict[str, deque[dict[str, Any]]] = {}
        self.unreadable = 0
        self.assigned = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="recommendations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.consumer.close()

    def _assign(self) -> bool:
        """Assign every partition from the start once the topic exists."""
        try:
            meta = self.consumer.list_topics(self.topic, timeout=5).topics[self.topic]
        except KafkaException as exc:
            log.warning("cannot list %s: %s", self.topic, exc)
            return False
        if meta.error is not None or not meta.partitions:
            return False
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING)
                              for p in meta.partitions])
        self.assigned = True
        return True

    def _follow(self) -> None:
        while not self._stop.is_set():
            if not self.assigned and not self._assign():
                self._stop.wait(2.0)  # the recommender has not created its output yet
                continue
            first = self.consumer.poll(0.5)  # consume(n, t) would wait t even for one record
            if first is None:
                continue
            for msg in [first, *self.consumer.consume(499, timeout=0)]:
                value = msg.value()
                if msg.error() is None and value is not None:
                    self._apply(value)

    def _apply(self, value: bytes) -> None:
        try:
            row: dict[str, Any] = orjson.loads(value)
            client_id = str(row["CLIENT_ID"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            self.unreadable += 1
            log.error("unreadable record in %s skipped: %s", self.topic, exc)
            return
        with self._lock:
            self.by_client.setdefault(client_id, deque(maxlen=self.kept)).append(row)

    def of(self, client_id: str) -> list[dict[str, Any]] | None:
        """The client's recommendations, newest first; None when the client never searched."""
        with self._lock:
            rows = self.by_client.get(client_id)
            return list(reversed(rows)) if rows is not None else None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"following": self.assigned, "clients": len(self.by_client),
                    "unreadable": self.unreadable}
