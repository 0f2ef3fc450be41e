"""Alerting against the real stack (issue 5): a broker down fires, its return resolves."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from pokupai_lib.clients import client_config
from pokupai_lib.config import LabConfig
from pokupai_lib.kafka_cluster import start_node, stop_node
from pokupai_lib.lab import lab_supervisor, start_alerting
from pokupai_lib.monitoring import query_range, wait_for_alert
from pokupai_lib.topic_reader import read_range


@pytest.fixture(scope="module")
def alerting(platform: LabConfig) -> LabConfig:
    start_alerting(platform)
    time.sleep(2 * platform.monitoring.scrape_interval_s)  # every target scraped once
    return platform


@pytest.mark.slow
def test_a_broker_down_fires_within_60_s_and_resolves_within_60_s_losing_nothing(
        alerting: LabConfig, admin: AdminClient) -> None:
    cfg = alerting
    topic = f"test-alert-{uuid.uuid4().hex[:6]}"
    admin.create_topics([NewTopic(topic, 3, 3, config={"min.insync.replicas": "2"})])[
        topic].result()
    producer = Producer(client_config(cfg, "primary", "admin", acks="all",
                                      **{"enable.idempotence": True}))
    sent = 0

    def write(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            producer.produce(topic, key=str(sent).encode(), value=b"x")
            sent += 1
        assert producer.flush(30) == 0

    write(100)
    since = datetime.now(UTC).isoformat(timespec="milliseconds")
    stopped_wall = time.time()
    instance = f"{cfg.monitoring.host}:{cfg.monitoring.broker_jmx_port(2)}"
    stopped_at = time.monotonic()
    assert stop_node(cfg, "primary", 2, lab_supervisor(cfg))
    try:
        write(100)  # min ISR 2 of RF 3: acks=all writes go on with one broker down
        fired = wait_for_alert(cfg, "KafkaBrokerDown", "firing", since, timeout_s=60,
                               instance=instance)
        fired_after = time.monotonic() - stopped_at
    finally:
        start_node(cfg, "primary", 2, lab_supervisor(cfg))
    back_at = time.monotonic()
    resolved = wait_for_alert(cfg, "KafkaBrokerDown", "resolved", since, timeout_s=60,
                              instance=instance)
    assert fired_after <= 60
    assert time.monotonic() - back_at <= 60
    assert fired["labels"]["cluster"] == "primary" and resolved["labels"]["broker_id"] == "2"
    keys = {r.key for r in read_range(cfg, topic)}
    assert keys == {str(i).encode() for i in range(sent)}  # every acknowledged write is there
    # Only the outage window: before the fixture's first scrapes the count is still rising.
    brokers = query_range(cfg, 'sum by (cluster) (up{job="kafka", cluster="primary"})',
                          stopped_wall, time.time())["cluster=primary"]
    assert (brokers == 2).any() and brokers.iloc[-1] == 3
    admin.delete_topics([topic])[topic].result()
