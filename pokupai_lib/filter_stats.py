"""The filter's numbers: Prometheus metrics and a JSON stats view, served on one port."""

from __future__ import annotations

import json
import threading
from collections import Counter as Tally
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["FilterStats", "serve_stats"]


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
        self._gauges: dict[str, int] = {"lag": 0, "ban_entries": 0}
        self.ready = False

    def record_processed(self, count: int = 1) -> None:
        self.processed.inc(count)
        with self._lock:
            self._totals["processed"] += count

    def record_passed(self, count: int = 1) -> None:
        self.passed.inc(count)
        with self._lock:
            self._totals["passed"] += count

    def set_gauges(self, lag: int, ban_entries: int) -> None:
        self.lag.set(lag)
        self.ban_entries.set(ban_entries)
        with self._lock:
            self._gauges = {"lag": lag, "ban_entries": ban_entries}

    def record_banned(self, rule: str, term: str) -> None:
        self.banned.labels(rule).inc()
        with self._lock:
            self._rules[rule] += 1
            self._banned_terms[f"{rule}:{term}"] += 1

    def record_dead_letter(self, error_type: str) -> None:
        self.dead_lettered.labels(error_type).inc()
        with self._lock:
            self._dlq[error_type] += 1

    def record_latency(self, seconds: float) -> None:
        self.latency.observe(seconds)
        with self._lock:
            self._latencies.append(seconds)

    def snapshot(self) -> dict[str, Any]:
        """The JSON stats view."""
        with self._lock:
            latencies = sorted(self._latencies)
            rules, terms, dlq = dict(self._rules), dict(self._banned_terms), dict(self._dlq)
            totals, gauges = dict(self._totals), dict(self._gauges)

        def pct(q: float) -> float | None:
            return round(latencies[int(q * (len(latencies) - 1))] * 1000, 1) if latencies else None

        return {
            "ready": self.ready,
            "processed": totals.get("processed", 0),
            "passed": totals.get("passed", 0),
            "banned_by_rule": rules,
            "banned_by_term": terms,
            "dead_lettered": dlq,
            "lag": gauges["lag"],
            "ban_entries": gauges["ban_entries"],
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99)},
        }


def serve_stats(stats: FilterStats, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``/metrics`` (Prometheus), ``/stats`` (JSON) and ``/health`` in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(stats.registry), "text/plain; version=0.0.4")
            elif self.path == "/stats":
                self._send(200, json.dumps(stats.snapshot()).encode(), "application/json")
            elif self.path == "/health":
                code = 200 if stats.ready else 503
                body = {"status": "ok" if stats.ready else "starting"}
                self._send(code, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b'{"detail": "try /metrics, /stats or /health"}',
                           "application/json")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="filter-stats", daemon=True).start()
    return server
