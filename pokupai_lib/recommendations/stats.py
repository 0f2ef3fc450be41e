"""The recommender's numbers: Prometheus metrics and a JSON view (served by ``stats_http``)."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections import deque
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["RecommenderStats", "seconds_since"]


def seconds_since(iso_timestamp: object, now: datetime | None = None) -> float | None:
    """Seconds from an ISO-8601 timestamp (a search's ``searched_at``) to now; None if absent."""
    if not isinstance(iso_timestamp, str):
        return None
    try:
        then = datetime.fromisoformat(iso_timestamp)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - then).total_seconds()


class RecommenderStats:
    """Counters of one recommender process, shared by its topology and its HTTP server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.searches = Counter("recommender_searches", "recommendations written, by how the "
                                "category was found", ["match"], registry=self.registry)
        self.product_changes = Counter("recommender_product_changes", "membership and term "
                                       "changes derived from products", registry=self.registry)
        self.dead_lettered = Counter("recommender_dead_lettered", "records sent to "
                                     "recommender-dlq", ["topic"], registry=self.registry)
        self.app_rebuilds = Counter("recommender_app_rebuilds", "Quix apps rebuilt after a "
                                    "Kafka fault ended a run", registry=self.registry)
        self.lag = Gauge("recommender_consumer_lag", "records of an input not yet committed",
                         ["topic"], registry=self.registry)
        self.latency = Histogram(
            "recommender_latency_seconds", "search recorded to its recommendation written",
            buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30), registry=self.registry)
        self._lock = threading.Lock()
        self._matches: Tally[str] = Tally()
        self._latencies: deque[float] = deque(maxlen=10_000)
        self._lags: dict[str, int] = {}
        self._lag_from: float | None = None
        self.started_at: str | None = None
        self.ready = False

    def record_recommendation(self, row: dict[str, Any]) -> None:
        self.searches.labels(row["MATCH_TYPE"]).inc()
        latency = seconds_since(row.get("SEARCHED_AT"))
        with self._lock:
            self._matches[row["MATCH_TYPE"]] += 1
            if latency is not None and latency >= 0:
                self._latencies.append(latency)
        if latency is not None and latency >= 0:
            self.latency.observe(latency)

    def set_lag(self, lags: dict[str, int], measured_from: float) -> None:
        """Lags measured by a pass that began at ``measured_from`` (epoch seconds): a wait for
        "caught up" takes only a pass begun after it started, not one that a stuck app or an
        unreachable coordinator left standing."""
        for topic, lag in lags.items():
            self.lag.labels(topic).set(lag)
        with self._lock:
            self._lags = dict(lags)
            self._lag_from = measured_from
        self.ready = True

    def snapshot(self) -> dict[str, Any]:
        """The JSON stats view."""
        with self._lock:
            latencies = sorted(self._latencies)
            matches, lags, lag_from = dict(self._matches), dict(self._lags), self._lag_from

        def pct(q: float) -> float | None:
            return round(latencies[int(q * (len(latencies) - 1))], 3) if latencies else None

        return {"ready": self.ready, "started_at": self.started_at,
                "recommendations_by_match": matches, "lag": lags, "lag_measured_from": lag_from,
                "latency_s": {"p50": pct(0.5), "p99": pct(0.99)}}
