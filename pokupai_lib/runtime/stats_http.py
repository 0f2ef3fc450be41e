"""``/metrics``, ``/stats`` and ``/health`` of a long-running process, on one loopback port."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, generate_latest

__all__ = ["ServedStats", "serve_stats"]


class ServedStats(Protocol):
    """What a process exposes: its metrics registry, a JSON view and whether it is ready."""

    registry: CollectorRegistry
    ready: bool

    def snapshot(self) -> dict[str, Any]: ...


def serve_stats(stats: ServedStats, host: str, port: int,
                name: str = "stats") -> ThreadingHTTPServer:
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
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server
