"""Durability with acks=all and min ISR 2, stopping real brokers with the whole platform up;
each test restores them, and then every stream stage must still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient
from lab_fixture import Lab

from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.access import attempt_produce
from pokupai_lib.kafka.clients import client_config
from pokupai_lib.kafka.cluster import (
    restore_preferred_leaders,
    start_node,
    stop_node,
    wait_for_brokers,
)
from pokupai_lib.kafka.topic_reader import read_range
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.stage_checks import probe_every_stage

pytestmark = pytest.mark.slow


@pytest.fixture
def restore_brokers(lab: Lab) -> Iterator[None]:
    """After the test, every primary broker running again, leading its preferred partitions,
    and every stream stage working."""
    yield
    cfg, supervisor = lab.cfg, lab.supervisor
    for node in cfg.primary.nodes:
        start_node(cfg, "primary", node.node_id, supervisor)
    wait_for_brokers(cfg, "primary", 3)
    restore_preferred_leaders(cfg, "primary")
    probe = probe_every_stage(cfg)
    assert probe.ok, f"a stage stopped working after the brokers came back: {probe.summary()}"


def _partition(admin: AdminClient, topic: str) -> tuple[int, list[int], list[int]]:
    meta = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
    return meta.leader, list(meta.replicas), list(meta.isrs)


def _wait_isr(admin: AdminClient, topic: str, size: int, timeout_s: float = 60) -> list[int]:
    return wait_until(lambda: _partition(admin, topic)[2], until=lambda isr: len(isr) == size,
                      timeout_s=timeout_s, every_s=0.5,
                      what=f"{size} replicas in the ISR of {topic}")


def _read_all(cfg: LabConfig, topic: str) -> list[bytes]:
    return [record.value or b"" for record in read_range(cfg, topic, timeout_s=30)]


def test_acked_record_survives_stopping_a_broker(lab: Lab, restore_brokers: None) -> None:
    cfg, admin = lab.cfg, lab.admin
    topic = lab.fresh_topic()
    producer = lab.producer("admin", acks="all", **{"enable.idempotence": True})
    delivered: list[KafkaError | None] = []
    producer.produce(topic, b"survivor", on_delivery=lambda err, _m: delivered.append(err))
    producer.flush(30)
    assert delivered == [None]
    leader, _replicas, _isr = _partition(admin, topic)
    stop_node(cfg, "primary", leader, lab.supervisor)
    assert _read_all(cfg, topic) == [b"survivor"]


def test_two_brokers_down_refuses_the_write_with_not_enough_replicas(
        lab: Lab, restore_brokers: None) -> None:
    cfg, admin = lab.cfg, lab.admin
    topic = lab.fresh_topic()
    conf = client_config(cfg, "primary", "admin")
    assert attempt_produce("admin", conf, topic, b"before").allowed
    leader, replicas, _isr = _partition(admin, topic)
    followers = [r for r in replicas if r != leader]
    supervisor = lab.supervisor
    stop_node(cfg, "primary", followers[0], supervisor)
    _wait_isr(admin, topic, 2)
    assert attempt_produce("admin", conf, topic, b"one down").allowed
    stop_node(cfg, "primary", followers[1], supervisor)
    refused = attempt_produce("admin", conf, topic, b"two down")
    assert (refused.allowed, refused.error_code) == (False, "NOT_ENOUGH_REPLICAS")
    start_node(cfg, "primary", followers[0], supervisor)
    start_node(cfg, "primary", followers[1], supervisor)
    _wait_isr(admin, topic, 3)
    assert _read_all(cfg, topic) == [b"before", b"one down"]
