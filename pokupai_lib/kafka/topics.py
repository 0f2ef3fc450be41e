"""The design's topics, created idempotently through ``confluent_kafka.admin``, and a report."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from pokupai_lib.config import TopicSpec
from pokupai_lib.errors import ClusterError
from pokupai_lib.kafka.faults import kafka_error
from pokupai_lib.runtime.wait import wait_until

__all__ = ["ensure_topics", "topic_layouts"]

_TIMEOUT_S = 30


def _existing(admin: AdminClient) -> set[str]:
    return set(admin.list_topics(timeout=_TIMEOUT_S).topics)


def _align_configs(admin: AdminClient, specs: list[TopicSpec]) -> None:
    """Set each topic's designed configs (incremental: other configs are left alone)."""
    resources = [
        ConfigResource(ResourceType.TOPIC, spec.name, incremental_configs=[
            ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
            for key, value in spec.configs.items()])
        for spec in specs
    ]
    for resource, future in admin.incremental_alter_configs(resources).items():
        try:
            future.result()
        except KafkaException as exc:
            raise ClusterError(f"could not set configs of {resource.name}: {exc}") from exc


def ensure_topics(admin: AdminClient, specs: list[TopicSpec]) -> list[str]:
    """Create the missing topics and align configs of all; return the names created.

    Raises ClusterError when a topic exists with fewer partitions or another replication
    factor than designed (that needs a human decision, not a silent change).
    """
    existing = _existing(admin)
    missing = [s for s in specs if s.name not in existing]
    if missing:
        futures = admin.create_topics([
            NewTopic(s.name, num_partitions=s.partitions, replication_factor=s.replication_factor,
                     config=s.configs) for s in missing], operation_timeout=_TIMEOUT_S)
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                error = kafka_error(exc)
                if error is None or error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise ClusterError(f"could not create topic {name}: {exc}") from exc
    _check_layout(admin, specs)
    _align_configs(admin, specs)
    return [s.name for s in missing]


def _wait_visible(admin: AdminClient, names: list[str]) -> dict[str, Any]:
    """Topic metadata once every name is visible with leaders (new topics take a moment)."""
    topics: dict[str, Any] = {}

    def not_ready() -> list[str]:
        nonlocal topics
        topics = dict(admin.list_topics(timeout=_TIMEOUT_S).topics)
        return [name for name in names
                if name not in topics or topics[name].error is not None
                or any(p.leader < 0 for p in topics[name].partitions.values())]

    wait_until(not_ready, until=lambda waiting: not waiting, timeout_s=_TIMEOUT_S, every_s=0.5,
               what=f"topics {names} visible with a leader for every partition")
    return topics


def _check_layout(admin: AdminClient, specs: list[TopicSpec]) -> None:
    topics = _wait_visible(admin, [spec.name for spec in specs])
    for spec in specs:
        partitions = topics[spec.name].partitions
        rf = {len(p.replicas) for p in partitions.values()}
        if len(partitions) != spec.partitions or rf != {spec.replication_factor}:
            raise ClusterError(
                f"topic {spec.name} has {len(partitions)} partitions with RF {sorted(rf)}, the "
                f"design says {spec.partitions} with RF {spec.replication_factor}; delete it "
                "or run `make clean`")


def topic_layouts(admin: AdminClient, names: list[str]) -> list[dict[str, Any]]:
    """One dict per topic: partitions, RF, min ISR, cleanup policy, in-sync replica counts.

    Waits until every name is visible with leaders (a new topic takes a moment).
    """
    topics = _wait_visible(admin, names)
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    configs = {r.name: f.result() for r, f in admin.describe_configs(resources).items()}
    rows = []
    for name in names:
        partitions = topics[name].partitions.values()
        rows.append({
            "topic": name,
            "partitions": len(partitions),
            "replication_factor": max(len(p.replicas) for p in partitions),
            "min_insync_replicas": int(configs[name]["min.insync.replicas"].value),
            "cleanup_policy": configs[name]["cleanup.policy"].value,
            "isr_min": min(len(p.isrs) for p in partitions),
            "under_replicated": sum(len(p.isrs) < len(p.replicas) for p in partitions),
        })
    return rows
