"""Benchmark: search → recommendation available, and broker stop → alert notification.

1. Recommendation latency: ``--searches`` searches through the client API (``POST /search``),
   one fresh client each, one every ``--spacing`` seconds; the clock stops when
   ``GET /recommendations/{id}`` serves the recommendation (client-searches → MirrorMaker 2 →
   recommender's three transactional hops → SEARCHES_WITH_PRODUCTS → the API's view).
2. Alert delay: ``--outages`` times, broker 2 of the primary is stopped (SIGTERM) while a
   producer with acks=all writes; the clock runs from the stop call to the webhook receiver
   recording the firing KafkaBrokerDown, and from the start command (the JVM's start-up
   included) to the resolved one; both by the receiver's own timestamps.
Appends the results to results.md.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from statistics import median

from cluster_startup import BACKLOG_TIMEOUT_S, machine, write_results

from pokupai_lib.config import load_config
from pokupai_lib.lab import start_alerting, up_platform
from pokupai_lib.monitoring.outage import broker_outage
from pokupai_lib.recommendations.checks import recommendation_latency
from pokupai_lib.stage_checks import wait_until_settled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=0.2)
    parser.add_argument("--outages", type=int, default=2)
    args = parser.parse_args()
    cfg = load_config()
    up_platform(cfg)
    wait_until_settled(cfg, BACKLOG_TIMEOUT_S)
    latency = recommendation_latency(cfg, args.searches, pause_s=args.spacing)
    start_alerting(cfg)
    outages = [broker_outage(cfg, broker=2) for _ in range(args.outages)]
    fired = [o.fired_after_s for o in outages]
    resolved = [o.resolved_after_s for o in outages]
    lost = sum(o.lost for o in outages)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_results([
        "", f"## Recommendations and alerting — {now}",
        f"Machine: {machine()}. The whole platform runs on the same 2 cores. Recommender: Quix "
        f"Streams, exactly-once, commit when its input runs dry (at most every "
        f"{cfg.recommender.commit_interval_s} s under a steady stream); "
        f"scrape and rule evaluation every {cfg.monitoring.scrape_interval_s} s, "
        "KafkaBrokerDown holds 10 s.", "",
        "| measure | p50 | p99 | max | target | note |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| search → recommendation served by the client API ({args.searches} searches, one "
        f"every {args.spacing} s) | {latency.quantile(0.5):.2f} s | "
        f"{latency.quantile(0.99):.2f} s | {latency.max():.2f} s | p99 ≤ 3 s | "
        "path: client API, MirrorMaker 2, 3 transactional hops, the API's view |",
        f"| broker stop → KafkaBrokerDown firing notification ({args.outages} outages) | "
        f"{median(fired):.1f} s | - | {max(fired):.1f} s | ≤ 60 s | each: "
        f"{', '.join(f'{v:.1f} s' for v in fired)}; includes the broker's controlled shutdown, "
        "the rule's 10 s hold and Alertmanager's 5 s group wait |",
        f"| broker start command → resolved notification | {median(resolved):.1f} s | - | "
        f"{max(resolved):.1f} s | ≤ 60 s | each: {', '.join(f'{v:.1f} s' for v in resolved)};"
        f" acknowledged writes lost in all outages: {lost} |",
    ])


if __name__ == "__main__":
    main()
