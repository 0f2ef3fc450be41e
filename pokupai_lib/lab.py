"""The lab as a whole: bootstrap, bring services up and down, and report their status."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from pokupai_lib.config import ClusterName, LabConfig
from pokupai_lib.errors import InvalidInputError, MissingToolError
from pokupai_lib.kafka.acls import ensure_acls, grants_for
from pokupai_lib.kafka.clients import admin_client
from pokupai_lib.kafka.cluster import node_spec, start_cluster, stop_cluster
from pokupai_lib.kafka.topics import ensure_topics
from pokupai_lib.mirroring.mirror_maker import MIRROR_SERVICE, mirror_spec, start_mirror
from pokupai_lib.monitoring.stack import (
    ALERTMANAGER,
    VICTORIA_METRICS,
    VMALERT,
    ensure_monitoring_tools,
    missing_monitoring_tools,
    monitoring_specs,
    start_monitoring,
)
from pokupai_lib.runtime.artifacts import ensure_jmx_agent, ensure_kafka_libs
from pokupai_lib.runtime.certs import CertReport, ensure_certificates
from pokupai_lib.runtime.connect_plugin import ensure_connect_plugins
from pokupai_lib.runtime.moderator_token import ensure_moderator_token
from pokupai_lib.runtime.preflight import find_problems
from pokupai_lib.runtime.profiles import require_profile
from pokupai_lib.runtime.services import (
    ALERT_RECEIVER,
    BANWORDS_API,
    CLIENT_API,
    FILTER,
    RECOMMENDER,
    alert_receiver_spec,
    banwords_api_spec,
    client_api_spec,
    filter_spec,
    recommender_spec,
    start_alert_receiver,
    start_banwords_api,
    start_client_api,
    start_filter,
    start_recommender,
)
from pokupai_lib.runtime.state import ensure_state_dir
from pokupai_lib.runtime.supervisor import ServiceSpec, lab_supervisor
from pokupai_lib.schema.registration import product_subject, register_product_schema
from pokupai_lib.schema.registry import (
    REGISTRY_SERVICE,
    ensure_registry_dist,
    registry_client,
    registry_spec,
    start_registry,
)
from pokupai_lib.schema.registry_proxy import (
    REGISTRY_PROXY_SERVICE,
    ensure_registry_proxy,
    registry_proxy_spec,
)
from pokupai_lib.search.connect import (
    CONNECT_SERVICE,
    apply_connector,
    connect_spec,
    connector_config,
    sink_config_file,
    start_connect,
    wait_until_running,
)
from pokupai_lib.search.elastic import (
    ELASTIC_SERVICE,
    elastic_spec,
    ensure_es_dist,
    ensure_hunspell_ru,
    start_elastic,
)

__all__ = ["all_service_specs", "bootstrap", "down", "lab_supervisor", "start_alerting",
           "start_mirroring", "start_pipeline", "start_recommendations", "start_search",
           "status_frame", "up", "up_platform"]

log = logging.getLogger(__name__)


def bootstrap(cfg: LabConfig) -> CertReport:
    """Check the profile and tools and state, resolve JVM artifacts, ensure certificates and
    the moderator token. Idempotent.

    Raises:
        ProfileUnavailableError: the docker profile is requested and no Docker engine answers.
        MissingToolError: Java, Maven or Python is missing or too old.
        CredentialError: a directory sits where the moderator token belongs.
    """
    require_profile(cfg)
    problems = find_problems()
    if problems:
        raise MissingToolError("; ".join(str(p) for p in problems))
    ensure_state_dir(cfg)
    ensure_kafka_libs(cfg)
    ensure_registry_dist(cfg)
    ensure_registry_proxy()
    ensure_es_dist(cfg)
    ensure_hunspell_ru(cfg)
    ensure_connect_plugins(cfg)
    ensure_jmx_agent(cfg)
    try:
        ensure_monitoring_tools()
    except MissingToolError as exc:  # the rest of the lab works without monitoring
        log.warning("monitoring unavailable: %s", exc)
    report = ensure_certificates(cfg)
    ensure_moderator_token(cfg)
    return report


def all_service_specs(cfg: LabConfig) -> list[ServiceSpec]:
    """Every service the lab knows, in start order."""
    nodes = [node_spec(cfg, cluster, node)
             for cluster in (cfg.primary, cfg.secondary) for node in cluster.nodes]
    return [*nodes, registry_spec(cfg), registry_proxy_spec(cfg),
            banwords_api_spec(cfg), filter_spec(cfg),
            mirror_spec(cfg), elastic_spec(cfg), connect_spec(cfg), recommender_spec(cfg),
            client_api_spec(cfg), alert_receiver_spec(cfg), *monitoring_specs(cfg)]


def up(cfg: LabConfig, clusters: tuple[ClusterName, ...] = ("primary",)) -> dict[str, str]:
    """Bootstrap, start the given clusters and the schema registry; return each cluster's id."""
    bootstrap(cfg)
    supervisor = lab_supervisor(cfg)
    ids: dict[str, str] = {name: start_cluster(cfg, name, supervisor) for name in clusters}
    start_registry(cfg, supervisor)
    return ids


def start_pipeline(cfg: LabConfig) -> int:
    """Primary topics and ACLs, the product schema, the ban-words API and the filter."""
    admin = admin_client(cfg, "primary")
    ensure_topics(admin, cfg.topics.specs())
    ensure_acls(admin, grants_for(cfg, "primary"))
    schema_id = register_product_schema(registry_client(cfg), product_subject(cfg))
    supervisor = lab_supervisor(cfg)
    start_banwords_api(cfg, supervisor)
    start_filter(cfg, supervisor)
    return schema_id


def start_mirroring(cfg: LabConfig) -> int:
    """The secondary's ACLs, then MirrorMaker 2 (the secondary cluster must be up)."""
    ensure_acls(admin_client(cfg, cfg.mirror.target), grants_for(cfg, cfg.mirror.target))
    return start_mirror(cfg, lab_supervisor(cfg))


def start_search(cfg: LabConfig) -> dict[str, Any]:
    """Elasticsearch, Kafka Connect with the products sink (RUNNING), and the client API."""
    supervisor = lab_supervisor(cfg)
    start_elastic(cfg, supervisor)
    start_connect(cfg, supervisor)
    sink = cfg.connect.sink_name
    apply_connector(cfg, sink, connector_config(cfg, sink_config_file(cfg)))
    status = wait_until_running(cfg, sink)
    start_client_api(cfg, supervisor)
    return status


def start_recommendations(cfg: LabConfig) -> int:
    """The recommender's topics on the secondary (its internal ones it creates), then the
    recommender itself."""
    ensure_topics(admin_client(cfg, cfg.mirror.target),
                  cfg.recommender.topic_specs(cfg.topics.layout))
    return start_recommender(cfg, lab_supervisor(cfg))


def start_alerting(cfg: LabConfig) -> list[int]:
    """The alert webhook receiver, then VictoriaMetrics, Alertmanager and vmalert."""
    supervisor = lab_supervisor(cfg)
    return [start_alert_receiver(cfg, supervisor), *start_monitoring(cfg, supervisor)]


def up_platform(cfg: LabConfig) -> dict[str, str]:
    """Everything: both clusters, registry, pipeline, mirroring, recommendations, search and,
    where its tools are installed, monitoring; return the cluster ids."""
    ids = up(cfg, ("primary", "secondary"))
    start_pipeline(cfg)
    start_mirroring(cfg)
    start_recommendations(cfg)
    start_search(cfg)
    if missing_monitoring_tools():
        log.warning("monitoring not started, missing: %s", ", ".join(missing_monitoring_tools()))
    else:
        start_alerting(cfg)
    return ids


def down(cfg: LabConfig) -> list[str]:
    """Stop every service, keeping data; return the names that were running."""
    supervisor = lab_supervisor(cfg)
    stopped: list[str] = []
    clients_first = ([VMALERT, ALERTMANAGER, VICTORIA_METRICS, ALERT_RECEIVER],
                     [CLIENT_API, RECOMMENDER, FILTER, BANWORDS_API, CONNECT_SERVICE,
                      MIRROR_SERVICE, REGISTRY_PROXY_SERVICE],
                     [REGISTRY_SERVICE, ELASTIC_SERVICE])
    for services in clients_first:
        stopped += supervisor.stop_many(services, cfg.service_stop_timeout_s)
    for cluster in ("secondary", "primary"):
        stopped += stop_cluster(cfg, cluster, supervisor)
    return stopped


def stop_services(cfg: LabConfig, names: Sequence[str]) -> list[str]:
    """Stop the named services, keeping data (``up`` starts them again); return those that
    were running.

    Raises InvalidInputError naming the lab's services when a name is not one of them.
    """
    known = [spec.name for spec in all_service_specs(cfg)]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidInputError(f"no service named {', '.join(unknown)}; the lab's services: "
                                f"{', '.join(known)}")
    return lab_supervisor(cfg).stop_many(list(names), cfg.service_stop_timeout_s)


def status_frame(cfg: LabConfig) -> pd.DataFrame:
    """A table of services: state, pid (of the process doing the work), ports, health, and
    for services restarted on failure, how often and why they last exited."""
    supervisor = lab_supervisor(cfg)
    rows = [asdict(supervisor.status(spec)) for spec in all_service_specs(cfg)]
    frame = pd.DataFrame(rows, columns=["name", "state", "pid", "ports", "health", "restarts",
                                        "last_exit"])
    frame["last_exit"] = frame["last_exit"].fillna("-")
    frame["ports"] = frame["ports"].map(lambda ports: ", ".join(map(str, ports)))
    frame["pid"] = frame["pid"].map(lambda pid: "-" if pd.isna(pid) else str(int(pid)))
    return frame
