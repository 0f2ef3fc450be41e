"""Kafka Connect (Apache Kafka's, distributed mode) on the secondary cluster, as ``connect``.

The worker's internal topics, its group and the sink's group all start with
``cfg.connect.prefix``, which is what the ``connect`` principal's prefixed ACLs allow.
Connectors are JSON files in ``infra/connect/`` with ``${name}`` placeholders filled from the
config, applied idempotently with ``PUT /connectors/<name>/config``.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import ConnectorError
from pokupai_lib.kafka.clients import jvm_ssl_properties, write_properties
from pokupai_lib.runtime.connect_plugin import connect_plugins_dir, ensure_connect_plugins
from pokupai_lib.runtime.jvm import CONNECT_METRICS_RULES, jvm_command
from pokupai_lib.runtime.supervisor import ON_FAILURE, ServiceSpec, Supervisor, http_probe
from pokupai_lib.runtime.wait import wait_until

__all__ = [
    "CONNECT_SERVICE",
    "apply_connector",
    "connect_spec",
    "connector_config",
    "connector_status",
    "reset_sink_offsets",
    "restart_failed_tasks",
    "sink_config_file",
    "start_connect",
    "status_frame",
    "wait_until_running",
    "worker_properties",
]

CONNECT_SERVICE = "kafka-connect"
_CLIENT_PREFIXES = ("", "producer.", "consumer.", "admin.")


def worker_properties(cfg: LabConfig) -> dict[str, str]:
    """``connect-distributed.properties``: mTLS for the worker and each client it creates."""
    c = cfg.connect
    configs, offsets, status = c.internal_topics
    ssl = {"security.protocol": "SSL", **jvm_ssl_properties(cfg, "connect"),
           "ssl.endpoint.identification.algorithm": "https"}
    return {
        "bootstrap.servers": cfg.secondary.bootstrap_servers,
        **{f"{prefix}{key}": value for prefix in _CLIENT_PREFIXES for key, value in ssl.items()},
        "group.id": c.group_id,
        "config.storage.topic": configs,
        "offset.storage.topic": offsets,
        "status.storage.topic": status,
        **{f"{kind}.storage.replication.factor": str(cfg.topics.layout.replication_factor)
           for kind in ("config", "offset", "status")},
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "listeners": f"http://{c.host}:{c.port}",
        "rest.advertised.host.name": c.host,
        "rest.advertised.port": str(c.port),
        "plugin.path": str(connect_plugins_dir(cfg)),
        "plugin.discovery": "hybrid_warn",
        "offset.flush.interval.ms": "2000",
        # MirrorMaker 2 copies in transactions (exactly-once source support): a sink must not
        # index the copies of a transaction a killed MirrorMaker left to be aborted.
        "consumer.isolation.level": "read_committed",
        # connector configs may override their consumer (e.g. max.poll.records)
        "connector.client.config.override.policy": "All",
    }


def connect_spec(cfg: LabConfig) -> ServiceSpec:
    """The supervised Connect worker; its properties file is written on start."""
    props = str(cfg.paths.state / "connect" / "connect-distributed.properties")
    return ServiceSpec(
        name=CONNECT_SERVICE,
        command=jvm_command(cfg, "org.apache.kafka.connect.cli.ConnectDistributed", [props],
                            heap_mb=cfg.connect.heap_mb, log_config="connect-log4j2.properties",
                            metrics_port=cfg.monitoring.connect_jmx_port,
                            metrics_rules=CONNECT_METRICS_RULES),
        ports=(cfg.connect.port, cfg.monitoring.connect_jmx_port),
        probe=lambda: http_probe(f"{cfg.connect.url}/connectors"),
        ready_timeout_s=cfg.connect.ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
        restart=ON_FAILURE,
    )


def start_connect(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Write the worker's properties, start (or keep) it and wait for its REST API."""
    ensure_connect_plugins(cfg)
    write_properties(cfg.paths.state / "connect" / "connect-distributed.properties",
                     worker_properties(cfg))
    return supervisor.start(connect_spec(cfg))


def _template_values(cfg: LabConfig) -> dict[str, str]:
    return {
        "topic": cfg.mirror.remote_topic(cfg.topics.shop_clear),
        "index": cfg.elastic.index,
        "es_url": cfg.elastic.url,
        "dlq_topic": cfg.connect.dlq_topic,
    }


def sink_config_file(cfg: LabConfig) -> Path:
    """The products sink's connector template in ``infra/connect/``."""
    return cfg.paths.infra / "connect" / f"{cfg.connect.sink_name}.json"


def connector_config(cfg: LabConfig, path: Path) -> dict[str, str]:
    """A connector's config from its JSON template in ``infra/connect/``.

    Raises ConnectorError naming the file and the placeholder when one is unknown.
    """
    template = string.Template(path.read_text(encoding="utf-8"))
    try:
        filled = template.substitute(_template_values(cfg))
    except KeyError as exc:
        raise ConnectorError(f"{path}: unknown placeholder ${{{exc.args[0]}}}; known: "
                             f"{', '.join(sorted(_template_values(cfg)))}") from None
    except ValueError as exc:
        raise ConnectorError(f"{path}: {exc}") from None
    config: dict[str, Any] = json.loads(filled)
    return {key: str(value) for key, value in config.items() if not key.startswith("_")}


def _rest(cfg: LabConfig) -> httpx.Client:
    return httpx.Client(base_url=cfg.connect.url, timeout=30.0)


def _raise_for(response: httpx.Response, action: str) -> None:
    if response.is_success:
        return
    try:
        message = response.json().get("message", response.text)
    except ValueError:
        message = response.text
    raise ConnectorError(f"{action}: Connect answered {response.status_code}: {message}")


def apply_connector(cfg: LabConfig, name: str, config: dict[str, str]) -> bool:
    """Create or update connector ``name``; True if it was created.

    Connect validates the config first, so a bad key comes back as one clear error.
    """
    with _rest(cfg) as rest:
        existed = rest.get(f"/connectors/{name}").status_code == 200
        response = rest.put(f"/connectors/{name}/config", json=config)
        _raise_for(response, f"applying connector {name}")
    return not existed


def connector_status(cfg: LabConfig, name: str) -> dict[str, Any]:
    """Connect's status of ``name``: connector state and every task's state and trace."""
    with _rest(cfg) as rest:
        response = rest.get(f"/connectors/{name}/status")
        _raise_for(response, f"status of connector {name}")
        status: dict[str, Any] = response.json()
    return status


def status_frame(status: dict[str, Any]) -> pd.DataFrame:
    """The connector and its tasks as rows (the first line of a failed task's trace)."""
    rows = [{"unit": "connector", "state": status["connector"]["state"],
             "worker": status["connector"]["worker_id"], "error": ""}]
    rows += [{"unit": f"task {task['id']}", "state": task["state"], "worker": task["worker_id"],
              "error": (task.get("trace") or "").splitlines()[0] if task.get("trace") else ""}
             for task in status.get("tasks", [])]
    return pd.DataFrame(rows)


def reset_sink_offsets(cfg: LabConfig, name: str) -> None:
    """Make a sink read its topics from the start again (stop, drop offsets, resume)."""
    with _rest(cfg) as rest:
        _raise_for(rest.put(f"/connectors/{name}/stop"), f"stopping connector {name}")
        wait_until(lambda: rest.get(f"/connectors/{name}/status").json()["connector"]["state"],
                   until=lambda state: state == "STOPPED", timeout_s=30, every_s=0.5,
                   what=f"connector {name} stopped", log=cfg.paths.log(CONNECT_SERVICE))
        _raise_for(rest.delete(f"/connectors/{name}/offsets"), f"resetting {name}'s offsets")
        _raise_for(rest.put(f"/connectors/{name}/resume"), f"resuming connector {name}")


def restart_failed_tasks(cfg: LabConfig, name: str) -> None:
    """Restart the connector and only its failed tasks."""
    with _rest(cfg) as rest:
        response = rest.post(f"/connectors/{name}/restart",
                             params={"includeTasks": "true", "onlyFailed": "true"})
        _raise_for(response, f"restarting connector {name}")


def wait_until_running(cfg: LabConfig, name: str, timeout_s: float | None = None) -> dict[str, Any]:
    """Wait until the connector and all its tasks are RUNNING; raise with the trace if one
    FAILED twice or time runs out.

    A task that FAILED is restarted once first: after a config change (a new connector class
    after an upgrade) the tasks of the old config can fail before the new ones start.
    """
    timeout_s = cfg.timeouts.settle_s if timeout_s is None else timeout_s
    restarted: set[int] = set()

    def all_running(status: dict[str, Any]) -> bool:
        """The connector and every task RUNNING; a task FAILED again ends the wait at once."""
        failed = [t for t in status["tasks"] if t["state"] == "FAILED"]
        if any(t["id"] in restarted for t in failed):
            again = next(t for t in failed if t["id"] in restarted)
            raise ConnectorError(f"connector {name}: task {again['id']} FAILED:\n"
                                 f"{again.get('trace', '')[:2000]}")
        if failed:
            restart_failed_tasks(cfg, name)
            restarted.update(t["id"] for t in failed)
            return False
        states = [status["connector"]["state"], *(t["state"] for t in status["tasks"])]
        return bool(status["tasks"]) and all(state == "RUNNING" for state in states)

    # Connect still starting (refused, or no such connector yet)
    return wait_until(lambda: connector_status(cfg, name), until=all_running,
                      timeout_s=timeout_s, every_s=1.0,
                      what=f"connector {name} and all its tasks RUNNING",
                      ignore=(ConnectorError, httpx.TransportError),
                      log=cfg.paths.log(CONNECT_SERVICE))


