"""Benchmark: publisher rate and filter throughput (exactly-once) beside Kafka's own tools.

Publishes ``--count`` generated products to shop-raw with the filter stopped (publisher
rate), then starts the filter and times it through the backlog (filter rate). In the same run,
Kafka's ProducerPerformance and ConsumerPerformance write and read the same number of records
of the same average size on the same mTLS cluster, as the reference. Appends to results.md.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from cluster_startup import machine, write_results
from fastavro import schemaless_writer

from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.ingest.checks import filter_stats, prepare_shop_files
from pokupai_lib.ingest.publisher import publish_files
from pokupai_lib.kafka.clients import admin_client, jvm_client_properties
from pokupai_lib.kafka.cluster import jvm_command
from pokupai_lib.kafka.topics import ensure_topics
from pokupai_lib.lab import lab_supervisor, up
from pokupai_lib.runtime.services import FILTER, start_banwords_api, start_filter
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.schema.product import parsed_schema
from pokupai_lib.schema.registration import product_subject, register_product_schema
from pokupai_lib.schema.registry import registry_client

PERF_TOPIC = "bench-perf"


def kafka_perf(cfg: LabConfig, count: int, record_size: int) -> tuple[float, float]:
    """Records/s of Kafka's producer and consumer perf tools (acks=all) on the TLS cluster."""
    admin = admin_client(cfg)
    ensure_topics(admin, [cfg.topics.layout.spec(PERF_TOPIC)])  # waits for its leaders
    props = str(jvm_client_properties(cfg, "admin"))
    servers = cfg.primary.bootstrap_servers
    produced = subprocess.run(jvm_command(cfg, "org.apache.kafka.tools.ProducerPerformance", [
        "--topic", PERF_TOPIC, "--num-records", str(count), "--record-size", str(record_size),
        "--throughput", "-1", "--producer.config", props, "--producer-props",
        f"bootstrap.servers={servers}", "acks=all", "linger.ms=20", "batch.size=1000000",
        "compression.type=lz4"], heap_mb=512), capture_output=True, text=True, check=True)
    producer_rate = float(re.findall(r"([\d.]+) records/sec", produced.stdout)[-1])
    consumed = subprocess.run(jvm_command(cfg, "org.apache.kafka.tools.ConsumerPerformance", [
        "--bootstrap-server", servers, "--topic", PERF_TOPIC, "--messages", str(count),
        "--command-config", props, "--timeout", "60000"], heap_mb=512),
        capture_output=True, text=True, check=True)
    fields = consumed.stdout.strip().splitlines()[-1].split(",")
    consumer_rate = float(fields[5])  # nMsg.sec
    admin.delete_topics([PERF_TOPIC])[PERF_TOPIC].result()
    return producer_rate, consumer_rate


def avro_record_size(products: list[dict[str, Any]]) -> int:
    """Mean size of a product in the Confluent wire format (5-byte header + Avro body)."""
    schema = parsed_schema()
    sizes = []
    for product in products:
        buffer = io.BytesIO()
        schemaless_writer(buffer, schema, product)
        sizes.append(len(buffer.getvalue()) + 5)
    return sum(sizes) // len(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    args = parser.parse_args()
    cfg = load_config()
    up(cfg)
    supervisor = lab_supervisor(cfg)
    register_product_schema(registry_client(cfg), product_subject(cfg))
    start_banwords_api(cfg, supervisor)
    supervisor.stop(FILTER)
    catalog, paths = prepare_shop_files(cfg, args.count, seed=2026, with_bad_lines=False,
                                         first_id=1_000_000)
    size = avro_record_size(catalog.products[:2000])
    published = publish_files(cfg, paths, progress=False)
    started = time.perf_counter()
    start_filter(cfg, supervisor)
    # no timeout before; 10 minutes is far beyond any rate the filter has shown
    wait_until(lambda: filter_stats(cfg)["processed"], until=lambda n: n >= published.sent,
               timeout_s=600, every_s=0.2, what=f"the filter to process {published.sent} products",
               log=cfg.paths.log(FILTER))
    filter_rate = published.sent / (time.perf_counter() - started)
    producer_rate, consumer_rate = kafka_perf(cfg, args.count, size)
    lines = [
        f"\n## Publisher and filter — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}. {args.count} products (~{size} bytes of Avro each), "
        "mTLS, acks=all, RF 3, min ISR 2.",
        "",
        "| measure | products/s | target | reference in the same run |",
        "| --- | --- | --- | --- |",
        f"| publisher (validate + Avro + produce) | {published.rate:,.0f} | ≥ 50,000 | "
        f"ProducerPerformance {producer_rate:,.0f} records/s ({size} B) |",
        f"| filter, exactly-once (shop-raw → shop-clear, incl. start-up) | {filter_rate:,.0f} | "
        f"≥ 25,000 | ConsumerPerformance {consumer_rate:,.0f} records/s |",
    ]
    write_results(lines)


if __name__ == "__main__":
    main()
