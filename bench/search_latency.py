"""Benchmark: product published → searchable, and client API search latency under load.

1. Freshness: ``--samples`` products, each with a unique word in its name, are published one
   every ``--spacing`` seconds to shop-raw (Avro, as the shops do); the clock stops when a
   search for that word through the client API returns the product (filter → MirrorMaker 2 →
   Connect → index). One poller asks for all pending words in one request every 50 ms.
2. Search latency: ``wrk`` keeps ``--clients`` connections busy for ``--seconds`` with
   ``POST /search`` (after a 5 s warm-up); the same queries straight to Elasticsearch are the
   reference.
Appends the results to results.md.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import numpy as np
from cluster_startup import BACKLOG_TIMEOUT_S, machine, write_results

from pokupai_lib.client_api.query import SEARCH_FIELDS
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.ingest.catalog import generate_products, write_shop_files
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.lab import up_platform
from pokupai_lib.stage_checks import wait_until_settled

TERMS = ("Красота", "часы", "кофемашина", "наушники", "детские игрушки", "смартфон",
         "крем для лица", "кроссовки", "пылесос", "чайник")


def _publish_one(cfg: LabConfig, word: str, index: int) -> str:
    product = generate_products(1, seed=9000 + index, banned_share=0.0,
                                first_id=random.randint(10**9, 2 * 10**9))[0]  # noqa: S311
    product["name"] = f"Товар {word}"
    paths = write_shop_files([product], cfg.paths.state / "bench" / f"fresh-{index}")
    publish_files(cfg, paths, progress=False)
    return str(product["product_id"])


def freshness(cfg: LabConfig, samples: int, spacing_s: float) -> list[float]:
    """Seconds from publish to searchable, one per product."""
    pending: dict[str, tuple[str, float]] = {}  # word → (product id, start)
    results: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    failures: list[str] = []

    def poll() -> None:
        with httpx.Client(base_url=cfg.client_api.url, timeout=10) as http:
            while not done.is_set() or pending:
                with lock:
                    words = list(pending)
                # A search returns at most search_size products: with more words pending
                # (a stalled stage) one search would hide the rest until they time out.
                size = cfg.client_api.search_size
                ids = set()
                for at in range(0, len(words), size):
                    found = http.post("/search", json={
                        "id_client": "bench", "word_search": " ".join(words[at:at + size])})
                    ids |= {p["product_id"] for p in found.json().get("products", [])}
                now = time.perf_counter()
                if words:
                    with lock:
                        for word in words:
                            product_id, started = pending[word]
                            if product_id in ids:
                                results.append(now - started)
                                del pending[word]
                            elif now - started > 60:
                                failures.append(product_id)
                                del pending[word]
                time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    for index in range(samples):
        word = f"зонд{uuid.uuid4().hex[:10]}"
        started = time.perf_counter()
        product_id = _publish_one(cfg, word, index)
        with lock:
            pending[word] = (product_id, started)
        time.sleep(spacing_s)
    done.set()
    poller.join()
    if failures:
        raise SystemExit(f"not searchable within 60 s: {failures}")
    return results


# wrk's request generator: a rotating search term in a JSON body (format from Python).
_WRK_SCRIPT = """
local terms = {%(terms)s}
local i = 0
request = function()
  i = i + 1
  local term = terms[i %% #terms + 1]
  local body = string.format('%(body)s', term)
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_load(url: str, path: str, body: str, clients: int, seconds: int
             ) -> tuple[dict[int, float], float, int]:
    """Latency percentiles (ms), requests/s and failed requests of ``wrk`` posting ``body``
    (``%s`` = term). Failed: non-2xx answers and socket errors, timeouts included, which wrk
    leaves out of its percentiles (see search_open_loop.py for latencies that keep them)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: apt-get install wrk (make bench does this)")
    terms = ", ".join(f'"{term}"' for term in TERMS)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % {"terms": terms, "body": body, "path": path})
    out = subprocess.run([wrk, "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--latency",
                          "-s", script.name, url], capture_output=True, text=True,
                         check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                        r"timeout (\d+)", out)
    failed = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(count) for count in sockets.groups()) if sockets else 0)
    percentiles = {int(q): float(v) * _UNITS[unit] for q, v, unit in
                   re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)$", out, re.MULTILINE)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None or 99 not in percentiles:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    return percentiles, float(rate.group(1)), failed


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--spacing", type=float, default=0.5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    cfg = load_config()
    up_platform(cfg)
    wait_until_settled(cfg, BACKLOG_TIMEOUT_S)
    fresh = freshness(cfg, args.samples, args.spacing)
    api_body = '{"id_client": "load", "word_search": "%s"}'
    wrk_load(cfg.client_api.url, "/search", api_body, args.clients, 5)  # warm-up, not recorded
    api, api_rate, api_failed = wrk_load(cfg.client_api.url, "/search", api_body, args.clients,
                             args.seconds)
    fields = ", ".join(f'"{field}"' for field in SEARCH_FIELDS)
    es, es_rate, es_failed = wrk_load(cfg.elastic.url, f"/{cfg.elastic.index}/_search",
                           '{"query": {"multi_match": {"query": "%s", "fields": [' + fields
                           + ']}}, "size": 10}', args.clients, args.seconds)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_results([
        "", f"## Search freshness and latency — {now}",
        f"Machine: {machine()}. The whole platform runs on the same 2 cores (6 brokers, "
        "registry, filter, MirrorMaker 2, Connect, Elasticsearch, client API), and so does "
        "the load generator (wrk, 2 threads).", "",
        "| measure | p50 | p99 | max | target | reference in the same run |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| published → searchable via the client API ({len(fresh)} products, one every "
        f"{args.spacing} s) | {_p(fresh, 50):.2f} s | {_p(fresh, 99):.2f} s | "
        f"{max(fresh):.2f} s | p99 ≤ 5 s | path: filter, MirrorMaker 2, Connect, 1 s refresh |",
        f"| client API `POST /search`, {args.clients} concurrent clients, "
        f"{api_rate:,.0f} req/s, {api_failed} failed (non-2xx, socket errors, timeouts) | "
        f"{api[50]:.1f} ms | {api[99]:.1f} ms | - | p99 ≤ 50 ms | "
        f"same queries straight to Elasticsearch: p50 {es[50]:.1f} ms, p99 {es[99]:.1f} ms, "
        f"{es_rate:,.0f} req/s, {es_failed} failed |",
    ])


if __name__ == "__main__":
    main()
