"""What a running cluster looks like, as tables: its id, brokers, KRaft controller quorum,
topics and ACLs (pandas stays out of the services)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
from confluent_kafka.admin import AclBinding, AdminClient

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.errors import ClusterError
from pokupai_lib.kafka.acls import AclKey
from pokupai_lib.kafka.clients import admin_client
from pokupai_lib.kafka.tools import kafka_tool_output
from pokupai_lib.kafka.topics import topic_layouts

__all__ = ["ClusterSummary", "acls_frame", "describe_cluster", "describe_topics",
           "quorum_replication", "quorum_status"]

@dataclass(frozen=True)
class ClusterSummary:
    """The cluster id and the brokers its metadata lists."""

    cluster_id: str
    brokers: pd.DataFrame


def describe_cluster(cfg: LabConfig, cluster: ClusterName = "primary") -> ClusterSummary:
    """Cluster id and one row per broker (id, host, port), through the Admin API as ``admin``."""
    admin = admin_client(cfg, cluster)  # keep a reference: the future dies with its client
    described = admin.describe_cluster(request_timeout=cfg.timeouts.kafka_call_s).result()
    brokers = pd.DataFrame(
        sorted((n.id, n.host, n.port) for n in described.nodes),
        columns=["broker_id", "host", "port"])
    return ClusterSummary(described.cluster_id, brokers)


def _quorum_tool(cfg: LabConfig, cluster: ClusterName, args: list[str]) -> str:
    result = kafka_tool_output(cfg, "metadata-quorum", args, cluster)
    if result.returncode != 0:
        raise ClusterError(f"kafka-metadata-quorum {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def quorum_status(cfg: LabConfig, cluster: ClusterName = "primary") -> dict[str, str]:
    """``kafka-metadata-quorum describe --status`` as a dict (LeaderId, CurrentVoters, …)."""
    out = _quorum_tool(cfg, cluster, ["describe", "--status"])
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def quorum_replication(cfg: LabConfig, cluster: ClusterName = "primary") -> pd.DataFrame:
    """``kafka-metadata-quorum describe --replication``: one row per voter with its lag."""
    out = _quorum_tool(cfg, cluster, ["describe", "--replication"])
    frame = pd.read_csv(io.StringIO(out), sep="\t").rename(columns=str.strip)
    frame = frame.loc[:, ~frame.columns.str.startswith("Unnamed")]
    frame["Status"] = frame["Status"].str.strip()
    return frame[["NodeId", "Status", "LogEndOffset", "Lag"]]


def acls_frame(bindings: dict[AclKey, AclBinding]) -> pd.DataFrame:
    """ACLs as a table, one row per principal and resource, operations joined."""
    rows: dict[tuple[str, str, str, str], list[str]] = {}
    for principal, restype, name, pattern, op, _host in sorted(bindings):
        rows.setdefault((principal, restype, name, pattern), []).append(op)
    frame = pd.DataFrame(
        [(p, r, n, pat, ", ".join(sorted(ops))) for (p, r, n, pat), ops in rows.items()],
        columns=["principal", "resource", "name", "pattern", "operations"])
    return frame.sort_values(["principal", "resource", "name"], ignore_index=True)


def describe_topics(admin: AdminClient, names: list[str]) -> pd.DataFrame:
    """One row per topic: partitions, RF, min ISR, cleanup policy, in-sync replica counts."""
    return pd.DataFrame(topic_layouts(admin, names))
