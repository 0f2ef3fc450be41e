"""A 3-node KRaft Kafka cluster (every node broker and controller) secured by mTLS only."""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import ElectionType, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from pokupai_lib.config import ClusterConfig, ClusterName, KafkaNode, LabConfig
from pokupai_lib.errors import ClusterError, LabError, StateDirError
from pokupai_lib.kafka.clients import (
    admin_client,
    jvm_ssl_properties,
    tls_context,
    write_properties,
)
from pokupai_lib.runtime.artifacts import ensure_jmx_agent, ensure_kafka_libs
from pokupai_lib.runtime.certs import cert_files
from pokupai_lib.runtime.jvm import jvm_command
from pokupai_lib.runtime.supervisor import ProbeResult, ServiceSpec, Supervisor
from pokupai_lib.runtime.wait import wait_until

__all__ = [
    "cluster_dir",
    "ensure_cluster_id",
    "format_storage",
    "node_properties",
    "node_spec",
    "restore_preferred_leaders",
    "start_cluster",
    "start_node",
    "stop_cluster",
    "stop_node",
    "tls_probe",
    "wait_for_brokers",
]


def cluster_dir(cfg: LabConfig, cluster: ClusterName) -> Path:
    return cfg.paths.state / cluster


def _node_dir(cfg: LabConfig, cluster: ClusterName, node: KafkaNode) -> Path:
    return cluster_dir(cfg, cluster) / node.name


def node_properties(cfg: LabConfig, cluster: ClusterConfig, node: KafkaNode) -> dict[str, str]:
    """The broker+controller configuration of one node: mTLS everywhere, ACLs enforced."""
    layout = cfg.topics.layout
    rf, min_isr = str(layout.replication_factor), str(layout.min_insync_replicas)
    return {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": cluster.quorum_voters,
        "listeners": f"SSL://localhost:{node.broker_port},"
                     f"CONTROLLER://localhost:{node.controller_port}",
        "advertised.listeners": f"SSL://localhost:{node.broker_port}",
        "listener.security.protocol.map": "SSL:SSL,CONTROLLER:SSL",
        "inter.broker.listener.name": "SSL",
        "controller.listener.names": "CONTROLLER",
        **jvm_ssl_properties(cfg, node.name),
        "ssl.client.auth": "required",
        "ssl.endpoint.identification.algorithm": "https",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": ";".join(cfg.super_users),
        "log.dirs": str(_node_dir(cfg, cluster.name, node) / "data"),
        "num.partitions": str(layout.partitions),
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        "unclean.leader.election.enable": "false",
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "replica.lag.time.max.ms": "10000",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.retention.hours": "168",
        "log.segment.bytes": str(64 * 1024 * 1024),
    }


def ensure_cluster_id(cfg: LabConfig, cluster: ClusterName) -> str:
    """The cluster's id, generated once (Kafka's base64 UUID form) and kept in the state dir."""
    path = cluster_dir(cfg, cluster) / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    cluster_id = "-"
    while cluster_id.startswith("-"):
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    path.write_text(cluster_id)
    return cluster_id


def _formatted_cluster_id(data_dir: Path) -> str | None:
    meta = data_dir / "meta.properties"
    if not meta.exists():
        return None
    for line in meta.read_text().splitlines():
        if line.startswith("cluster.id="):
            return line.split("=", 1)[1].strip()
    raise StateDirError(f"{meta} has no cluster.id; run `make clean` to start from nothing")


def format_storage(cfg: LabConfig, cluster: ClusterConfig, node: KafkaNode, cluster_id: str,
                   config_file: Path) -> bool:
    """Format the node's log dir once; True if it formatted, False if it was already done."""
    data_dir = _node_dir(cfg, cluster.name, node) / "data"
    existing = _formatted_cluster_id(data_dir)
    if existing == cluster_id:
        return False
    if existing is not None:
        raise StateDirError(
            f"{data_dir} belongs to cluster {existing}, but {cluster.name} is {cluster_id}; "
            "run `make clean` to start from nothing")
    command = jvm_command(cfg, "kafka.tools.StorageTool",
                          ["format", "-t", cluster_id, "-c", str(config_file)])
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise ClusterError(f"formatting {node.name} failed:\n{result.stdout}{result.stderr}")
    return True


def tls_probe(cfg: LabConfig, port: int) -> ProbeResult:
    """Pass when the listener on ``port`` completes an mTLS handshake as ``admin``."""
    try:
        context = tls_context(cfg, cert_files(cfg.paths.certs, "admin"))  # certs may be gone
        with socket.create_connection(("localhost", port), timeout=2.0) as raw, \
                context.wrap_socket(raw, server_hostname="localhost"):
            return ProbeResult(True, f"mTLS handshake on :{port} ok")
    except (OSError, ssl.SSLError) as exc:
        return ProbeResult(False, f"mTLS handshake on :{port}: {exc}")


def node_spec(cfg: LabConfig, cluster: ClusterConfig, node: KafkaNode) -> ServiceSpec:
    """The supervised process of one node; its config file is written by :func:`start_cluster`."""
    config_file = _node_dir(cfg, cluster.name, node) / "server.properties"
    metrics_port = cfg.monitoring.broker_jmx_port(node.node_id)
    return ServiceSpec(
        name=node.name,
        command=jvm_command(cfg, "kafka.Kafka", [str(config_file)], heap_mb=cluster.heap_mb,
                            log_config="log4j2.properties", metrics_port=metrics_port),
        ports=(node.broker_port, node.controller_port, metrics_port),
        probe=lambda: tls_probe(cfg, node.broker_port),
        ready_timeout_s=cluster.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
    )


def _prepare_node(cfg: LabConfig, cluster: ClusterConfig, node: KafkaNode,
                  cluster_id: str) -> None:
    config_file = write_properties(_node_dir(cfg, cluster.name, node) / "server.properties",
                                   node_properties(cfg, cluster, node))
    format_storage(cfg, cluster, node, cluster_id, config_file)


def _node_logs(cfg: LabConfig, cluster: ClusterName) -> list[Path]:
    return [cfg.paths.log(node.name) for node in cfg.cluster(cluster).nodes]


def wait_for_brokers(cfg: LabConfig, cluster: ClusterName, count: int = 3,
                     timeout_s: float | None = None) -> list[int]:
    """Wait until the cluster's metadata lists ``count`` brokers; return their ids."""
    timeout_s = cfg.timeouts.settle_s if timeout_s is None else timeout_s
    admin = admin_client(cfg, cluster)

    def registered() -> list[int]:
        described = admin.describe_cluster(request_timeout=5).result()
        return sorted(node.id for node in described.nodes)

    # KafkaException: the quorum may still be electing
    return wait_until(registered, until=lambda seen: len(seen) >= count, timeout_s=timeout_s,
                      every_s=1.0, what=f"{count} brokers registered in {cluster}",
                      ignore=(KafkaException,), log=_node_logs(cfg, cluster))


def start_cluster(cfg: LabConfig, cluster: ClusterName, supervisor: Supervisor) -> str:
    """Start (or keep) the cluster's 3 nodes and wait until all are brokers; return its id."""
    ensure_kafka_libs(cfg)
    ensure_jmx_agent(cfg)
    config = cfg.cluster(cluster)
    cluster_id = ensure_cluster_id(cfg, cluster)
    specs = [node_spec(cfg, config, node) for node in config.nodes]
    for node in config.nodes:
        _prepare_node(cfg, config, node, cluster_id)
    already_running = {s.name for s in specs if supervisor.running_pid(s.name) is not None}
    try:
        for spec in specs:  # all voters must run before any can be ready
            supervisor.launch(spec)
        for spec in specs:
            supervisor.wait_ready(spec)
        wait_for_brokers(cfg, cluster, count=len(specs))
        if len(already_running) < len(specs):  # the first node up leads every partition
            restore_preferred_leaders(cfg, cluster)
    except LabError as exc:
        started_now = [s.name for s in specs if s.name not in already_running]
        supervisor.stop_many(started_now, cfg.service_stop_timeout_s)
        raise type(exc)(f"{exc}\n(stopped {', '.join(started_now) or 'nothing'} again: "
                        f"{cluster} is not left half-started)") from exc
    return cluster_id


def stop_cluster(cfg: LabConfig, cluster: ClusterName, supervisor: Supervisor) -> list[str]:
    """Stop every node of the cluster; return the names that were running."""
    names = [n.name for n in cfg.cluster(cluster).nodes]
    return supervisor.stop_many(names, cfg.service_stop_timeout_s)


def stop_node(cfg: LabConfig, cluster: ClusterName, node_id: int,
              supervisor: Supervisor) -> bool:
    """Stop one node (SIGTERM: a controlled shutdown); False if it was not running."""
    node = cfg.cluster(cluster).node(node_id)
    return supervisor.stop(node.name, cfg.service_stop_timeout_s)


def start_node(cfg: LabConfig, cluster: ClusterName, node_id: int,
               supervisor: Supervisor) -> int:
    """Start one node of a formatted cluster and wait for its listener."""
    config = cfg.cluster(cluster)
    node = config.node(node_id)
    _prepare_node(cfg, config, node, ensure_cluster_id(cfg, cluster))
    return supervisor.start(node_spec(cfg, config, node))


def restore_preferred_leaders(cfg: LabConfig, cluster: ClusterName,
                              timeout_s: float | None = None) -> int:
    """After a broker restart: wait until every partition's ISR is full again, then elect
    the preferred leaders at once, so leadership does not move minutes later (the
    controller's imbalance check) under a client that cached the old leader. Returns how
    many partitions changed leader."""
    timeout_s = cfg.timeouts.settle_s if timeout_s is None else timeout_s
    admin = admin_client(cfg, cluster)
    wait_until(lambda: _partitions_with_short_isr(admin), until=lambda lagging: not lagging,
               timeout_s=timeout_s, every_s=1.0,
               what=f"every partition of {cluster} fully in sync after the restart",
               log=_node_logs(cfg, cluster))
    results = admin.elect_leaders(ElectionType.PREFERRED, None).result()
    failures = {f"{tp.topic}-{tp.partition}": str(err) for tp, err in results.items()
                if err is not None and err.args[0].code() != KafkaError.ELECTION_NOT_NEEDED}
    if failures:
        raise ClusterError(f"{cluster}: preferred leader election failed for {failures}")
    return sum(err is None for err in results.values())


def _partitions_with_short_isr(admin: AdminClient) -> list[str]:
    topics = admin.list_topics(timeout=10).topics
    return [f"{name}-{p}" for name, meta in topics.items() for p, part in meta.partitions.items()
            if len(part.isrs) < len(part.replicas)]
