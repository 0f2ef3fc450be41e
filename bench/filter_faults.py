"""Benchmark: the filter with poison records and after a registry outage, with the platform up.

1. Filter throughput through a backlog of ``--count`` clean products, then through a backlog
   of the same size with a 1 % share of poison records of every kind, in the same run.
2. A registry outage: the registry stopped while good records and records of a schema id the
   filter has not seen arrive (the filter must retry them, not dead-letter them), then started:
   seconds from the registry ready again to the filter's lag back at 0. Appends to results.md.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime

from cluster_startup import machine, write_results
from confluent_kafka import Producer

from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.ingest.catalog import generate_catalog
from pokupai_lib.ingest.checks import filter_stats, wait_for_filter
from pokupai_lib.ingest.fault_scenario import POISON_KINDS, FaultRecords
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.lab import lab_supervisor, up_platform
from pokupai_lib.runtime.services import FILTER, start_filter
from pokupai_lib.schema.registry import registry_spec


def _backlog(cfg: LabConfig, records: FaultRecords, count: int, poison_share: float,
             first_id: int) -> int:
    """Write ``count`` records to shop-raw, ``poison_share`` of them poison; return count."""
    producer = Producer(client_config(cfg, "primary", "shop-publisher", **{
        "acks": "all", "enable.idempotence": True, "linger.ms": 20,
        "compression.type": "lz4", "queue.buffering.max.messages": 500_000}))
    kinds = list(POISON_KINDS)
    every = round(1 / poison_share) if poison_share else 0
    for n, product in enumerate(generate_catalog(count, seed=first_id, first_id=first_id)
                                .products):
        if every and n % every == every - 1:
            value = records.poison(kinds[(n // every) % len(kinds)], product)
        else:
            value = records.good(product, 1)
        producer.produce(cfg.topics.shop_raw, value, product["product_id"].encode())
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("the backlog was not delivered")
    return count


def filter_rate(cfg: LabConfig, records: FaultRecords, count: int, poison_share: float
                ) -> float:
    """Products/s of the filter through a backlog written while it was stopped."""
    supervisor = lab_supervisor(cfg)
    supervisor.stop(FILTER)
    _backlog(cfg, records, count, poison_share, random.randint(10**9, 9 * 10**9))  # noqa: S311
    started = time.perf_counter()
    start_filter(cfg, supervisor)
    wait_for_filter(cfg, timeout_s=600)
    return count / (time.perf_counter() - started)


def registry_recovery(cfg: LabConfig, records: FaultRecords, count: int) -> tuple[float, int]:
    """Seconds from the registry ready again to the filter's lag at 0, and the number of
    batches the filter retried meanwhile."""
    supervisor = lab_supervisor(cfg)
    wait_for_filter(cfg)
    before = sum(filter_stats(cfg).get("recoveries", {}).values())
    supervisor.stop(registry_spec(cfg).name)
    _backlog(cfg, records, count, 0.01, random.randint(10**9, 9 * 10**9))  # noqa: S311
    time.sleep(10)
    supervisor.start(registry_spec(cfg))
    back = time.perf_counter()
    wait_for_filter(cfg, timeout_s=300)
    retried = sum(filter_stats(cfg).get("recoveries", {}).values()) - before
    return time.perf_counter() - back, retried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50_000)
    args = parser.parse_args()
    cfg = load_config()
    up_platform(cfg)
    records = FaultRecords(cfg)
    clean = filter_rate(cfg, records, args.count, 0.0)
    poisoned = filter_rate(cfg, records, args.count, 0.01)
    recovery_s, retried = registry_recovery(cfg, records, 5_000)
    write_results([
        "\n## Filter with poison records and a registry outage — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}. The whole platform up; {args.count:,} products per backlog, "
        "written while the filter was stopped, timed from its start to its lag at 0.",
        "",
        "| measure | value | reference in the same run |",
        "| --- | --- | --- |",
        f"| filter, 1 % poison (all kinds in turn) | {poisoned:,.0f} products/s | clean "
        f"stream {clean:,.0f} products/s ({poisoned / clean:.0%}) |",
        f"| registry ready again → filter lag 0 (5,000 records, 1 % poison) | {recovery_s:.1f} s "
        f"| {retried} batches retried during the 10 s outage |",
    ])


if __name__ == "__main__":
    main()
