"""The two Kafka clusters, the topic layout and topics, and MirrorMaker 2 between the clusters."""

from __future__ import annotations

from pydantic import Field

from pokupai_lib.config.base import ClusterName, _Frozen

__all__ = [
    "ClusterConfig",
    "KafkaNode",
    "MirrorConfig",
    "PrimaryCluster",
    "PrimaryTopics",
    "SecondaryCluster",
    "TopicLayout",
    "TopicSpec",
]


class KafkaNode(_Frozen):
    """One KRaft node acting as broker and controller."""

    node_id: int
    broker_port: int
    controller_port: int

    @property
    def name(self) -> str:
        """Service name and certificate CN, e.g. ``kafka-1``."""
        return f"kafka-{self.node_id}"


class ClusterConfig(_Frozen):
    """A 3-node KRaft cluster; ``primary`` takes nodes 1–3, ``secondary`` nodes 4–6."""

    name: ClusterName
    nodes: tuple[KafkaNode, ...]
    heap_mb: int = 512
    ready_timeout_s: float = 120.0

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"localhost:{n.broker_port}" for n in self.nodes)

    @property
    def quorum_voters(self) -> str:
        return ",".join(f"{n.node_id}@localhost:{n.controller_port}" for n in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        """The node with this id; raises KeyError naming the cluster when there is none."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"cluster {self.name} has no node {node_id}")


def _nodes(first_id: int, broker_base: int, controller_base: int) -> tuple[KafkaNode, ...]:
    return tuple(
        KafkaNode(node_id=first_id + i, broker_port=broker_base + 2 * i,
                  controller_port=controller_base + 2 * i)
        for i in range(3)
    )


class PrimaryCluster(ClusterConfig):
    """Nodes 1–3 on the design's primary ports."""

    name: ClusterName = "primary"
    nodes: tuple[KafkaNode, ...] = Field(default_factory=lambda: _nodes(1, 9093, 9193))


class SecondaryCluster(ClusterConfig):
    """Nodes 4–6 on the design's secondary ports."""

    name: ClusterName = "secondary"
    nodes: tuple[KafkaNode, ...] = Field(default_factory=lambda: _nodes(4, 9293, 9393))


class TopicLayout(_Frozen):
    """Partitions, replication factor and min ISR: the design's for every topic of the lab,
    the brokers' defaults and the internal topics of Kafka, Connect and MirrorMaker 2 too."""

    partitions: int = 3
    replication_factor: int = 3
    min_insync_replicas: int = 2

    def spec(self, name: str, compacted: bool = False) -> TopicSpec:
        """The topic ``name`` with this layout."""
        return TopicSpec(name=name, compacted=compacted, **self.model_dump())


class TopicSpec(TopicLayout):
    """A topic as the design defines it (build it with :meth:`TopicLayout.spec`)."""

    name: str
    compacted: bool = False

    @property
    def configs(self) -> dict[str, str]:
        return {
            "min.insync.replicas": str(self.min_insync_replicas),
            "cleanup.policy": "compact" if self.compacted else "delete",
            "unclean.leader.election.enable": "false",
        }


class PrimaryTopics(_Frozen):
    """Names of the primary cluster's topics, and the layout of every topic of the lab."""

    shop_raw: str = "shop-raw"
    shop_clear: str = "shop-clear"
    ban_words: str = "ban-words"
    shop_dlq: str = "shop-dlq"
    # The filter's state and audit trail: per product its latest version and moderation status.
    shop_moderation: str = "shop-moderation"
    client_searches: str = "client-searches"
    layout: TopicLayout = Field(default_factory=TopicLayout)

    def specs(self) -> list[TopicSpec]:
        """The primary's topics as :func:`~pokupai_lib.kafka.topics.ensure_topics` makes them."""
        return [
            self.layout.spec(self.shop_raw),
            self.layout.spec(self.shop_clear),
            self.layout.spec(self.ban_words, compacted=True),
            self.layout.spec(self.shop_dlq),
            self.layout.spec(self.shop_moderation, compacted=True),
            self.layout.spec(self.client_searches),
        ]


class MirrorConfig(_Frozen):
    """MirrorMaker 2 in dedicated mode, replicating primary → secondary as principal ``mirror``."""

    source: ClusterName = "primary"
    target: ClusterName = "secondary"
    heap_mb: int = 320
    ready_timeout_s: float = 120.0
    refresh_interval_s: int = 10
    # A task killed with a transaction open leaves the worker's offsets topic unreadable
    # (read_committed) until the coordinator aborts it: with the producer's default of 60 s a
    # kill -9 kept MirrorMaker 2 from starting its task for 50 s. A transaction holds what
    # the task copied in ``transaction_interval_ms``, written in milliseconds.
    transaction_timeout_s: int = Field(default=10, ge=1)
    # One transaction per interval, not per poll (Connect's default). At 100 searches/s the
    # secondary's transaction log took 67 records/s and MirrorMaker's offsets 20/s; with
    # 250 ms, 41 and 8. It costs a search at most that much (published → searchable p50
    # 1.5 s idle, was 0.9-1.1 s).
    transaction_interval_ms: int = Field(default=250, ge=1)

    @property
    def worker_group(self) -> str:
        """The Connect worker group MirrorMaker 2 forms on the target (``<source>-mm2``)."""
        return f"{self.source}-mm2"

    @property
    def worker_transactional_id(self) -> str:
        """The transactional id the worker group's leader writes the config topic under, with
        exactly-once source support on (Connect's ``connect-cluster-<group.id>``)."""
        return f"connect-cluster-{self.worker_group}"

    @property
    def task_transactional_prefix(self) -> str:
        """The prefix of each source task's transactional id with exactly-once source support
        on (Connect's ``<group.id>-<connector>-<task>``, e.g.
        ``primary-mm2-MirrorSourceConnector-0``)."""
        return f"{self.worker_group}-"

    def remote_topic(self, topic: str) -> str:
        """The name DefaultReplicationPolicy gives ``topic`` on the target."""
        return f"{self.source}.{topic}"
