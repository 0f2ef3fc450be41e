"""The filter's numbers: Prometheus metrics and a JSON stats view (served by ``stats_http``)."""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["FilterStats"]


class FilterStats:
    """Counters of one filter process, shared by its loop and its HTTP server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.processed = Counter("filter_processed", "records read from shop-raw",
                                 registry=self.registry)
        self.passed = Counter("filter_passed", "products written to shop-clear",
                              registry=self.registry)
        self.banned = Counter("filter_banned", "products dropped by a ban rule", ["rule"],
                              registry=self.registry)
        self.dead_lettered = Counter("filter_dead_lettered", "records sent to shop-dlq",
                                     ["error_type"], registry=self.registry)
        self.lag = Gauge("filter_consumer_lag", "records in shop-raw not yet processed",
                         registry=self.registry)
        self.ban_entries = Gauge("filter_ban_entries", "entries in the live ban list",
                                 registry=self.registry)
        self.recoveries = Counter(
            "filter_recoveries", "batches aborted and retried after a fault outside the record",
            ["fault"], registry=self.registry)
        self.withdrawn = Counter(
            "filter_withdrawn", "live products withdrawn from shop-clear by a new ban entry",
            registry=self.registry)
        self.restored = Counter(
            "filter_restored", "blocked products brought back when their ban entries went",
            registry=self.registry)
        self.latency = Histogram(
            "filter_latency_seconds", "record timestamp in shop-raw to committed in shop-clear",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry)
        self._lock = threading.Lock()
        self._banned_terms: Tally[str] = Tally()
        self._dlq: Tally[str] = Tally()
        self._rules: Tally[str] = Tally()
        self._latencies: deque[float] = deque(maxlen=10_000)
        self._totals: Tally[str] = Tally()
        self._recoveries: Tally[str] = Tally()
        self._gauges: dict[str, int] = {"lag": 0, "ban_entries": 0, "ban_changes_pending": 0}
        self.ready = False
        self.refreshed_at = 0.0  # wall-clock time of the last gauge refresh
        self.joined_at: float | None = None  # wall-clock time the consumer subscribed
        self.products: Callable[[], dict[str, int]] = dict  # products per moderation status

    def record_processed(self, count: int = 1) -> None:
        self.processed.inc(count)
        with self._lock:
            self._totals["processed"] += count

    def record_passed(self, count: int = 1) -> None:
        self.passed.inc(count)
        with self._lock:
            self._totals["passed"] += count

    def set_gauges(self, lag: int, ban_entries: int, ban_changes_pending: bool = False) -> None:
        """``ban_changes_pending``: the ban list changed and the products judged before are
        not yet brought in line with it."""
        self.lag.set(lag)
        self.ban_entries.set(ban_entries)
        with self._lock:
            self._gauges = {"lag": lag, "ban_entries": ban_entries,
                            "ban_changes_pending": int(ban_changes_pending)}
            self.refreshed_at = time.time()

    def record_banned(self, rule: str, term: str) -> None:
        self.banned.labels(rule).inc()
        with self._lock:
            self._rules[rule] += 1
            self._banned_terms[f"{rule}:{term}"] += 1

    def record_dead_letter(self, error_type: str) -> None:
        self.dead_lettered.labels(error_type).inc()
        with self._lock:
            self._dlq[error_type] += 1

    def record_recovery(self, fault: str) -> None:
        self.recoveries.labels(fault).inc()
        with self._lock:
            self._recoveries[fault] += 1

    def record_ban_changes(self, withdrawn: int, restored: int) -> None:
        self.withdrawn.inc(withdrawn)
        self.restored.inc(restored)
        with self._lock:
            self._totals["withdrawn"] += withdrawn
            self._totals["restored"] += restored

    def record_latencies(self, seconds: list[float]) -> None:
        """Each record's time from its publication to the commit of its batch."""
        for value in seconds:
            self.latency.observe(value)
        with self._lock:
            self._latencies.extend(seconds)

    def snapshot(self) -> dict[str, Any]:
        """The JSON stats view."""
        with self._lock:
            latencies = sorted(self._latencies)
            rules, terms, dlq = dict(self._rules), dict(self._banned_terms), dict(self._dlq)
            totals, gauges = dict(self._totals), dict(self._gauges)
            recoveries = dict(self._recoveries)

        def pct(q: float) -> float | None:
            return round(latencies[int(q * (len(latencies) - 1))] * 1000, 1) if latencies else None

        return {
            "ready": self.ready,
            "processed": totals.get("processed", 0),
            "passed": totals.get("passed", 0),
            "withdrawn": totals.get("withdrawn", 0),
            "restored": totals.get("restored", 0),
            "banned_by_rule": rules,
            "banned_by_term": terms,
            "dead_lettered": dlq,
            "recoveries": recoveries,
            "lag": gauges["lag"],
            "ban_entries": gauges["ban_entries"],
            "ban_changes_pending": bool(gauges["ban_changes_pending"]),
            "products": self.products(),
            "refreshed_at": self.refreshed_at,
            "joined_at": self.joined_at,
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99)},
        }
