"""The lab as a whole: bootstrap, bring services up and down, and report their status."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from pokupai_lib.artifacts import ensure_kafka_libs
from pokupai_lib.certs import CertReport, ensure_certificates
from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.errors import MissingToolError
from pokupai_lib.kafka_cluster import node_spec, start_cluster, stop_cluster
from pokupai_lib.preflight import find_problems
from pokupai_lib.registry import (
    REGISTRY_SERVICE,
    ensure_registry_dist,
    registry_spec,
    start_registry,
)
from pokupai_lib.services import BANWORDS_API, FILTER, banwords_api_spec, filter_spec
from pokupai_lib.state import ensure_state_dir
from pokupai_lib.supervisor import ServiceSpec, Supervisor

__all__ = ["all_service_specs", "bootstrap", "down", "lab_supervisor", "status_frame", "up"]


def lab_supervisor(cfg: LabConfig) -> Supervisor:
    """The supervisor of this checkout's state directory."""
    return Supervisor(cfg.paths.pids, cfg.paths.logs)


def bootstrap(cfg: LabConfig) -> CertReport:
    """Check tools and state, resolve JVM artifacts, ensure certificates. Idempotent."""
    problems = find_problems()
    if problems:
        raise MissingToolError("; ".join(str(p) for p in problems))
    ensure_state_dir(cfg)
    ensure_kafka_libs(cfg)
    ensure_registry_dist(cfg)
    return ensure_certificates(cfg)


def all_service_specs(cfg: LabConfig) -> list[ServiceSpec]:
    """Every service the lab knows, in start order."""
    nodes = [node_spec(cfg, cluster, node)
             for cluster in (cfg.primary, cfg.secondary) for node in cluster.nodes]
    return [*nodes, registry_spec(cfg), banwords_api_spec(cfg), filter_spec(cfg)]


def up(cfg: LabConfig, clusters: tuple[ClusterName, ...] = ("primary",)) -> dict[str, str]:
    """Bootstrap, start the given clusters and the schema registry; return each cluster's id."""
    bootstrap(cfg)
    supervisor = lab_supervisor(cfg)
    ids: dict[str, str] = {name: start_cluster(cfg, name, supervisor) for name in clusters}
    start_registry(cfg, supervisor)
    return ids


def down(cfg: LabConfig) -> list[str]:
    """Stop every service, keeping data; return the names that were running."""
    supervisor = lab_supervisor(cfg)
    stopped: list[str] = []
    for services in ([FILTER, BANWORDS_API], [REGISTRY_SERVICE]):  # clients before servers
        stopped += supervisor.stop_many(services, cfg.service_stop_timeout_s)
    for cluster in ("secondary", "primary"):
        stopped += stop_cluster(cfg, cluster, supervisor)
    return stopped


def status_frame(cfg: LabConfig) -> pd.DataFrame:
    """A table of services: state, pid, ports, health."""
    supervisor = lab_supervisor(cfg)
    rows = [asdict(supervisor.status(spec)) for spec in all_service_specs(cfg)]
    frame = pd.DataFrame(rows, columns=["name", "state", "pid", "ports", "health"])
    frame["ports"] = frame["ports"].map(lambda ports: ", ".join(map(str, ports)))
    frame["pid"] = frame["pid"].map(lambda pid: "-" if pd.isna(pid) else str(int(pid)))
    return frame
