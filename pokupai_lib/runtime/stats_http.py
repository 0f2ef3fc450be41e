"""``/metrics``, ``/stats`` and ``/health`` of a long-running process, on one loopback port."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote

from prometheus_client import CollectorRegistry, generate_latest

__all__ = ["ServedStats", "StatsServer", "serve_stats"]


class ServedStats(Protocol):
    """What a process exposes: its metrics registry, a JSON view and whether it is ready."""

    registry: CollectorRegistry
    ready: bool

    def snapshot(self) -> dict[str, Any]: ...


Lookup = Callable[[str], Mapping[str, Any] | None]


class StatsServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up before its answer is written (a scrape that timed
    out while a busy process built ``/metrics``); other errors keep their traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipe, ConnectionReset
            return
        super().handle_error(request, client_address)


def serve_stats(stats: ServedStats, host: str, port: int, name: str = "stats",
                lookups: Mapping[str, Lookup] | None = None) -> StatsServer:
    """Serve ``/metrics`` (Prometheus), ``/stats`` (JSON) and ``/health`` in a daemon thread,
    and ``/<lookup>/<id>`` for each of ``lookups`` (its JSON answer, or 404 for None)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            resource, _, ident = self.path.lstrip("/").partition("/")
            if ident and resource in (lookups or {}):
                found = (lookups or {})[resource](unquote(ident))
                code = 404 if found is None else 200
                body = found if found is not None else {"detail": f"no {resource} for {ident!r}"}
                self._send(code, json.dumps(body, ensure_ascii=False).encode(),
                           "application/json")
            elif self.path == "/metrics":
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

    server = StatsServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server
