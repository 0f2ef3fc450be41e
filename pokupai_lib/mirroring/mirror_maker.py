"""MirrorMaker 2 (Apache Kafka's, dedicated mode) replicating primary → secondary.

It authenticates to both clusters as ``mirror`` with its own certificate; ACLs on both sides
are the least-privilege grants of :mod:`pokupai_lib.kafka.acls`. Every topic it creates (mirrored,
checkpoints, heartbeats, offset syncs and its Connect internals) has the lab's replication factor
(``cfg.topics.layout``, 3 by design).
"""

from __future__ import annotations

from confluent_kafka import KafkaException

from pokupai_lib.config import LabConfig
from pokupai_lib.kafka.clients import admin_client, jvm_ssl_properties, write_properties
from pokupai_lib.runtime.jvm import CONNECT_METRICS_RULES, jvm_command
from pokupai_lib.runtime.supervisor import ON_FAILURE, ProbeResult, ServiceSpec, Supervisor

__all__ = ["MIRROR_SERVICE", "mirror_properties", "mirror_spec", "mirrored_topics_present",
           "start_mirror"]

MIRROR_SERVICE = "mirror-maker"
_REPLICATION_FACTOR_KEYS = (
    "replication.factor", "checkpoints.topic.replication.factor",
    "heartbeats.topic.replication.factor", "offset-syncs.topic.replication.factor",
    "offset.storage.replication.factor", "status.storage.replication.factor",
    "config.storage.replication.factor",
)


def mirror_properties(cfg: LabConfig) -> dict[str, str]:
    """The ``mm2.properties`` of the one dedicated MirrorMaker 2 node."""
    source, target = cfg.mirror.source, cfg.mirror.target
    flow = f"{source}->{target}"
    ssl = {"security.protocol": "SSL", **jvm_ssl_properties(cfg, "mirror"),
           "ssl.endpoint.identification.algorithm": "https"}
    props = {
        "clusters": f"{source}, {target}",
        **{f"{name}.bootstrap.servers": cfg.cluster(name).bootstrap_servers
           for name in (source, target)},
        **{f"{name}.{key}": value for name in (source, target) for key, value in ssl.items()},
        f"{flow}.enabled": "true",
        f"{flow}.topics": ",".join(cfg.mirrored_topics),
        f"{target}->{source}.enabled": "false",
        "emit.checkpoints.enabled": "true",
        "emit.checkpoints.interval.seconds": "5",
        "emit.heartbeats.enabled": "true",
        "offset-syncs.topic.location": "source",
        "refresh.topics.interval.seconds": str(cfg.mirror.refresh_interval_s),
        "refresh.groups.interval.seconds": str(cfg.mirror.refresh_interval_s),
        # ACLs are the lab's own, per cluster; copying them would need cluster-wide rights.
        "sync.topic.acls.enabled": "false",
        "tasks.max": "1",
        # The filter writes shop-clear in transactions: copy committed records only, never
        # those of an aborted transaction (the consumer's default is read_uncommitted).
        f"{source}.consumer.isolation.level": "read_committed",
        # Exactly-once source support (KIP-618) on the target's worker: each task writes its
        # copies and its source offsets in one transaction, so a kill -9 repeats nothing to a
        # read_committed reader. One node is always the group's leader and fences its own
        # zombies, so the internal REST server (dedicated.mode.enable.internal.rest) is not
        # needed; a second node would need it.
        f"{target}.exactly.once.source.support": "enabled",
        f"{target}.producer.transaction.timeout.ms": str(cfg.mirror.transaction_timeout_s * 1000),
        f"{flow}.transaction.boundary": "interval",
        f"{flow}.transaction.boundary.interval.ms": str(cfg.mirror.transaction_interval_ms),
        # acks=all and idempotence on the copy, so a broker restart loses or repeats nothing;
        # a short linger batches the copy instead of one request per record under load.
        f"{target}.producer.acks": "all",
        f"{target}.producer.enable.idempotence": "true",
        f"{target}.producer.linger.ms": "20",
        f"{target}.producer.compression.type": "lz4",
        **dict.fromkeys(_REPLICATION_FACTOR_KEYS, str(cfg.topics.layout.replication_factor)),
    }
    return props


def _properties_file(cfg: LabConfig) -> str:
    path = write_properties(cfg.paths.state / "mirror" / "mm2.properties", mirror_properties(cfg))
    return str(path)


def mirrored_topics_present(cfg: LabConfig) -> ProbeResult:
    """Ready when every mirrored topic exists on the target, i.e. replication has begun."""
    wanted = {cfg.mirror.remote_topic(t) for t in cfg.mirrored_topics}
    try:
        topics = set(admin_client(cfg, cfg.mirror.target).list_topics(timeout=5).topics)
    except KafkaException as exc:
        return ProbeResult(False, f"{cfg.mirror.target} not reachable: {exc}")
    missing = sorted(wanted - topics)
    if missing:
        return ProbeResult(False, f"not yet on {cfg.mirror.target}: {', '.join(missing)}")
    return ProbeResult(True, f"{len(wanted)} topics mirrored")


def mirror_spec(cfg: LabConfig) -> ServiceSpec:
    """The supervised MirrorMaker 2 process; its properties file is written on start."""
    props = str(cfg.paths.state / "mirror" / "mm2.properties")
    return ServiceSpec(
        name=MIRROR_SERVICE,
        command=jvm_command(cfg, "org.apache.kafka.connect.mirror.MirrorMaker",
                            [props, "--clusters", cfg.mirror.target],
                            heap_mb=cfg.mirror.heap_mb, log_config="connect-log4j2.properties",
                            metrics_port=cfg.monitoring.mirror_jmx_port,
                            metrics_rules=CONNECT_METRICS_RULES),
        ports=(cfg.monitoring.mirror_jmx_port,),
        probe=lambda: mirrored_topics_present(cfg),
        ready_timeout_s=cfg.mirror.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
        restart=ON_FAILURE,
    )


def start_mirror(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Start (or keep) MirrorMaker 2 and wait until the mirrored topics exist; return its pid."""
    _properties_file(cfg)
    return supervisor.start(mirror_spec(cfg))
