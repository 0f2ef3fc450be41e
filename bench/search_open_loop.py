"""Benchmark: search latency as users feel it, at fixed offered rates (open loop).

``vegeta`` (built from the Go module proxy into ``.cache/tools`` on first use) sends requests
at a fixed rate whatever the answers' pace, so a slow answer cannot slow the load down and
hide itself, as it does with a fixed number of busy clients. Each rate runs for ``--seconds``
against Elasticsearch alone with the very request the API sends, then against the client API
(``POST /search``). Every search through the API is also a search event the recommender works
on, so before each attack the bench waits for the recommender to catch up: otherwise one
rate's backlog would load the next measurement, Elasticsearch's included. A request that times
out or fails on its socket counts as failed, and its latency (the timeout) stays in the
percentiles. Appends the results to results.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cluster_startup import BACKLOG_TIMEOUT_S, machine, write_results
from search_latency import TERMS

from pokupai_lib.client_api.query import FILTER_PATH, search_body
from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.lab import up_platform
from pokupai_lib.recommendations.checks import wait_until_caught_up
from pokupai_lib.stage_checks import wait_until_settled

VEGETA = "github.com/tsenart/vegeta/v12@v12.13.0"
P99_TARGET_MS = 50.0


@dataclass(frozen=True)
class RateResult:
    """One target at one offered rate: latency percentiles (ms) and the failed requests."""

    rate: int
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int

    @property
    def meets_target(self) -> bool:
        return self.failed == 0 and self.p99_ms <= P99_TARGET_MS


def ensure_vegeta(cfg: LabConfig) -> str:
    """The vegeta binary: on PATH, or built once with ``go install`` into .cache/tools."""
    found = shutil.which("vegeta")
    tools = cfg.paths.cache / "tools"
    if found or (tools / "vegeta").exists():
        return found or str(tools / "vegeta")
    go = shutil.which("go")
    if go is None:
        raise SystemExit("vegeta is needed: install Go 1.22+ (the lab builds it with "
                         f"`go install {VEGETA}`), or put vegeta on PATH")
    tools.mkdir(parents=True, exist_ok=True)
    subprocess.run([go, "install", VEGETA], env={**os.environ, "GOBIN": str(tools)},
                   check=True)
    return str(tools / "vegeta")


def _targets(url: str, bodies: list[dict[str, object]], path: Path) -> Path:
    """vegeta's JSON targets: one POST per body, taken round-robin."""
    with path.open("w", encoding="utf-8") as out:
        for body in bodies:
            raw = json.dumps(body, ensure_ascii=False).encode()
            out.write(json.dumps({"method": "POST", "url": url,
                                  "header": {"Content-Type": ["application/json"]},
                                  "body": base64.b64encode(raw).decode()}) + "\n")
    return path


def attack(vegeta: str, targets: Path, rate: int, seconds: int) -> RateResult:
    """Offer ``rate`` requests/s for ``seconds``; vegeta's report as a RateResult."""
    attack_run = subprocess.run(
        [vegeta, "attack", "-format=json", f"-targets={targets}", f"-rate={rate}/s",
         f"-duration={seconds}s", "-timeout=2s", "-keepalive=true"],
        capture_output=True, check=True)
    report = json.loads(subprocess.run([vegeta, "report", "-type=json"],
                                       input=attack_run.stdout, capture_output=True,
                                       check=True).stdout)
    latencies, requests = report["latencies"], int(report["requests"])
    ok = round(report["success"] * requests)
    return RateResult(rate, latencies["50th"] / 1e6, latencies["99th"] / 1e6, requests,
                      requests - ok)


def _highest(results: list[RateResult]) -> int:
    passing = [r.rate for r in results if r.meets_target]
    return max(passing, default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=int, nargs="+", default=[25, 50, 100, 200, 400, 1000])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    cfg = load_config()
    up_platform(cfg)
    wait_until_settled(cfg, BACKLOG_TIMEOUT_S)
    vegeta = ensure_vegeta(cfg)
    size = cfg.client_api.search_size
    work = Path(tempfile.mkdtemp(prefix="open-loop-"))
    api = _targets(f"{cfg.client_api.url}/search",
                   [{"id_client": "load", "word_search": term} for term in TERMS],
                   work / "api.json")
    es = _targets(f"{cfg.elastic.url}/{cfg.elastic.index}/_search?filter_path="
                  f"{','.join(FILTER_PATH)}",
                  [search_body(term, size) for term in TERMS], work / "es.json")
    attack(vegeta, api, 50, 3)  # warm-up, not recorded
    es_results, api_results = [], []
    for rate in args.rates:
        for target, results in ((es, es_results), (api, api_results)):
            wait_until_caught_up(cfg, timeout_s=300)
            results.append(attack(vegeta, target, rate, args.seconds))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "", f"## Search latency at fixed offered rates (open loop) — {now}",
        f"Machine: {machine()}. The whole platform runs on the same 2 cores, and so does "
        f"vegeta. Each rate offered for {args.seconds} s, to Elasticsearch alone and then to "
        "the API, each once the recommender had caught up with the searches before; a "
        "request failing or taking over 2 s counts as failed, its latency stays in the "
        "percentiles.", "",
        "| offered req/s | API p50 | API p99 | API failed | Elasticsearch p50 | "
        "Elasticsearch p99 | Elasticsearch failed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a, e in zip(api_results, es_results, strict=True):
        lines.append(f"| {a.rate:,} | {a.p50_ms:.1f} ms | {a.p99_ms:.1f} ms | "
                     f"{a.failed}/{a.requests} | {e.p50_ms:.1f} ms | {e.p99_ms:.1f} ms | "
                     f"{e.failed}/{e.requests} |")
    api_top, es_top = _highest(api_results), _highest(es_results)
    ratio = f"{api_top / es_top:.0%}" if es_top else "n/a"
    lines += ["", f"Highest offered rate with p99 ≤ {P99_TARGET_MS:.0f} ms and no failure: "
              f"client API {api_top:,} req/s, Elasticsearch alone {es_top:,} req/s "
              f"(API / Elasticsearch: {ratio}; of the rates tried)."]
    write_results(lines)


if __name__ == "__main__":
    main()
