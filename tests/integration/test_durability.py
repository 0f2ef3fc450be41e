"""Durability with acks=all and min ISR 2, stopping real brokers with the whole platform up;
each test restores them, and then every stream stage must still work."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient
from lab_fixture import Lab

from pokupai_lib.client_api.client import ClientApiClient
from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.kafka.access import attempt_produce
from pokupai_lib.kafka.clients import admin_client, client_config
from pokupai_lib.kafka.cluster import (
    restore_preferred_leaders,
    start_node,
    stop_node,
    wait_for_brokers,
)
from pokupai_lib.kafka.topic_reader import read_range
from pokupai_lib.recommendations.checks import recommend_after_search, wait_until_caught_up
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


def _coordinator(cfg: LabConfig, cluster: ClusterName, group: str) -> int:
    admin = admin_client(cfg, cluster)
    return int(admin.describe_consumer_groups([group])[group].result().coordinator.id)


def _gone_from_metadata(cfg: LabConfig, cluster: ClusterName, node: int) -> None:
    admin = admin_client(cfg, cluster)
    wait_until(lambda: set(admin.list_topics(timeout=10).brokers),
               until=lambda ids: node not in ids, timeout_s=60, every_s=0.5,
               what=f"broker {node} gone from {cluster}'s metadata")


def test_group_coordinators_restarted_while_the_platform_idles_leave_every_stage_working(
        lab: Lab) -> None:
    """librdkafka (issue 5511) kept send_offsets_to_transaction waiting for ever for a group
    coordinator that left the metadata and came back: seen for the recommender after one
    restart of its coordinator, and for the filter (which then waited out a 30 s bound). The
    stages bound the call and go on with a new producer: the next product is searchable and
    the next search answered within a minute (raises otherwise), and once the recommender has
    caught up a search finds the product's category. (The first answer may not: a search that
    the stuck app had read is read again after its rebuild, in any order with the product.)"""
    cfg, supervisor = lab.cfg, lab.supervisor
    coordinators: dict[ClusterName, int] = {
        "primary": _coordinator(cfg, "primary", cfg.filter.group_id),
        "secondary": _coordinator(cfg, "secondary", cfg.recommender.consumer_group)}
    try:
        for cluster, node in coordinators.items():
            stop_node(cfg, cluster, node, supervisor)
        for cluster, node in coordinators.items():
            _gone_from_metadata(cfg, cluster, node)
        time.sleep(5)  # the stages' own clients see it gone too
    finally:
        for cluster, node in coordinators.items():
            start_node(cfg, cluster, node, supervisor)
    for cluster in coordinators:
        wait_for_brokers(cfg, cluster, 3)
        restore_preferred_leaders(cfg, cluster)
    probe = probe_every_stage(cfg, timeout_s=60)
    wait_until_caught_up(cfg, timeout_s=60)
    again = recommend_after_search(ClientApiClient(cfg), f"again-{probe.word}", probe.word, 60)
    assert again["MATCHED_CATEGORY"] == probe.category, probe.summary()
